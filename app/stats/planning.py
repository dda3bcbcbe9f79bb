"""Baselines (denominators) and targets, written by admins within their scope."""

import tomllib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, and_, col, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound, invalid_field
from app.core.pagination import paginate
from app.ledger.contributions import REG, REG_ADULTS
from app.ledger.models import NATION
from app.ledger.versions import EVERYTHING, raise_versions
from app.stats.models import Baseline, Target
from app.stats.schemas import BaselineIn, BaselinePublic, Scope, TargetIn
from app.stats.service import commune_unit, metric_values
from app.units.models import Commune, Province

ADMINS = (Role.national_admin, Role.province_admin, Role.commune_admin)
FIRST_YEAR, LAST_YEAR = 2020, 2035


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            "validation.detail",
            errors=[
                {
                    "loc": ["path", "year"],
                    "type": "baseline.year",
                    "params": {"first": FIRST_YEAR, "last": LAST_YEAR},
                }
            ],
        )


def put_baseline(
    session: Session, *, actor: Actor, commune_code: str, year: int, data: BaselineIn
) -> BaselinePublic:
    """Set a commune's denominators for a year (commune admins for their commune and up)."""
    actor.require(*ADMINS, action="baseline.put")
    commune = session.get(Commune, commune_code)
    if commune is None:
        raise NotFound("what.commune")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="baseline.put"
    )
    _check_year(year)
    row = _upsert(session, actor=actor, commune=commune, year=year, data=data)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="baseline.put",
        target_type="baseline",
        target_id=f"{commune.code}/{year}",
        province_code=commune.province_code,
        commune_code=commune.code,
        detail=data.model_dump(),
    )
    return _public(session, row)


def put_province_baselines(
    session: Session,
    *,
    actor: Actor,
    province_code: str,
    year: int,
    communes: dict[str, BaselineIn],
) -> list[BaselinePublic]:
    """Set the denominators of many communes of one province at once; all or nothing."""
    actor.require(Role.national_admin, Role.province_admin, action="baseline.put")
    province = session.get(Province, province_code)
    if province is None:
        raise NotFound("what.province")
    actor.require_in_scope(
        province.code, None, what="what.province", action="baseline.put", target=province.code
    )
    _check_year(year)
    known = {
        c.code: c
        for c in session.exec(select(Commune).where(col(Commune.code).in_(list(communes)))).all()
    }
    errors = [
        {"loc": ["body", "communes", code], "type": "baseline.commune_outside", "params": {}}
        for code in communes
        if code not in known or known[code].province_code != province.code
    ]
    if errors:
        raise Invalid("validation.detail", errors=errors)
    rows = [
        _upsert(session, actor=actor, commune=known[code], year=year, data=data)
        for code, data in sorted(communes.items())
    ]
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="baseline.put_bulk",
        target_type="province",
        target_id=f"{province.code}/{year}",
        province_code=province.code,
        detail={"communes": len(rows)},
    )
    return [_public(session, row) for row in rows]


def _upsert(
    session: Session, *, actor: Actor, commune: Commune, year: int, data: BaselineIn
) -> Baseline:
    row = session.get(Baseline, (commune.code, year))
    if row is None:
        row = Baseline(
            commune_code=commune.code,
            year=year,
            province_code=commune.province_code,
            **data.model_dump(),
        )
    else:
        for name, value in data.model_dump().items():
            setattr(row, name, value)
    row.updated_at = utcnow()
    row.updated_by_id = actor.user_id
    session.add(row)
    session.flush()
    raise_versions(session, [commune.code])
    return row


def _public(session: Session, row: Baseline) -> BaselinePublic:
    return BaselinePublic(
        commune_code=row.commune_code,
        province_code=row.province_code,
        year=row.year,
        adults=row.adults,
        officials=row.officials,
        pupils=row.pupils,
        workers=row.workers,
        updated_at=row.updated_at,
        warnings=baseline_warnings(session, row),
    )


def baseline_warnings(session: Session, row: Baseline) -> list[dict[str, Any]]:
    """Flag denominators smaller than the people already registered (allowed, but suspect)."""
    unit = commune_unit(session, row.commune_code)
    day = date(row.year, 12, 31)
    now, _ = metric_values(session, level="commune", units=[unit.code], as_of=day, past=day).get(
        unit.code, ({}, {})
    )
    registered = {
        "adults": now.get(REG_ADULTS, 0),
        "officials": now.get(REG["official"], 0),
        "pupils": now.get(REG["pupil"], 0),
        "workers": now.get(REG["worker"], 0),
    }
    return [
        {
            "field": name,
            "type": "baseline.below_registered",
            "baseline": getattr(row, name),
            "registered": count,
        }
        for name, count in registered.items()
        if getattr(row, name) < count
    ]


def put_target(session: Session, *, actor: Actor, data: TargetIn) -> Target:
    """Set one target for a scope the caller manages; the most specific scope applies."""
    actor.require(*ADMINS, action="target.put")
    level, code = _scope_key(session, actor, data.scope)
    if data.kind == "rate" and data.value > 1:
        raise invalid_field("value", "target.rate_range")
    if data.kind == "count" and data.value != int(data.value):
        raise invalid_field("value", "target.count_whole")
    row = session.exec(
        select(Target).where(
            Target.indicator == data.indicator.value,
            Target.level == level,
            Target.scope_code == code,
        )
    ).first()
    if row is None:
        row = Target(
            indicator=data.indicator.value,
            level=level,
            scope_code=code,
            kind=data.kind,
            value=data.value,
            deadline=data.deadline,
        )
    row.kind, row.value, row.deadline = data.kind, data.value, data.deadline
    row.updated_at = utcnow()
    row.updated_by_id = actor.user_id
    session.add(row)
    session.flush()
    raise_versions(session, [EVERYTHING])
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="target.put",
        target_type="target",
        target_id=f"{data.indicator.value}/{level}/{code}",
        province_code=code[:2] if level == "province" else None,
        commune_code=code if level == "commune" else None,
        detail={"kind": data.kind, "value": data.value, "deadline": data.deadline.isoformat()},
    )
    return row


def _scope_key(session: Session, actor: Actor, scope: Scope) -> tuple[str, str]:
    if scope.level == "national":
        if scope.code is not None:
            raise invalid_field("scope", "target.scope_code")
        actor.require(Role.national_admin, action="target.put")
        return "national", NATION
    if scope.level == "province":
        if scope.code is None or len(scope.code) != 2 or session.get(Province, scope.code) is None:
            raise invalid_field("scope", "province.unknown")
        actor.require(Role.national_admin, Role.province_admin, action="target.put")
        actor.require_in_scope(scope.code, None, what="what.province", action="target.put")
        return "province", scope.code
    commune = session.get(Commune, scope.code) if scope.code and len(scope.code) == 5 else None
    if commune is None:
        raise invalid_field("scope", "commune.unknown")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="target.put"
    )
    return "commune", commune.code


def list_targets(
    session: Session,
    *,
    actor: Actor,
    level: str | None,
    code: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Target], str | None]:
    """Targets the caller can see: national ones, and those of units in scope."""
    visible = [col(Target.level) == "national"]
    if actor.role in (Role.national_admin, Role.province_admin):
        visible.append(
            and_(
                col(Target.level) == "province",
                actor.scope_clause(col(Target.scope_code), None),
            )
        )
    communes_in_scope = select(Commune.code).where(
        actor.scope_clause(col(Commune.province_code), col(Commune.code))
    )
    visible.append(
        and_(col(Target.level) == "commune", col(Target.scope_code).in_(communes_in_scope))
    )
    statement = select(Target).where(or_(*visible))
    if level is not None:
        statement = statement.where(Target.level == level)
    if code is not None:
        statement = statement.where(Target.scope_code == code)
    return paginate(
        session,
        statement,
        key_column=col(Target.id),
        key_of=lambda target: target.id,
        cursor=cursor,
        limit=limit,
        parse_key=int,
    )


def seed_targets(session: Session, seed_dir: Path) -> dict[str, int]:
    """Insert the national default targets that are missing; admins' edits are kept."""
    data = tomllib.loads((seed_dir / "targets.toml").read_text(encoding="utf-8"))
    added = False
    for item in data.get("target", []):
        exists = session.exec(
            select(Target.id).where(
                Target.indicator == item["indicator"],
                Target.level == "national",
                Target.scope_code == NATION,
            )
        ).first()
        if exists is None:
            added = True
            session.add(
                Target(
                    indicator=item["indicator"],
                    level="national",
                    scope_code=NATION,
                    kind=item["kind"],
                    value=float(item["value"]),
                    deadline=date.fromisoformat(str(item["deadline"])),
                )
            )
    session.flush()
    if added:
        raise_versions(session, [EVERYTHING])
    count = len(session.exec(select(Target.id).where(Target.level == "national")).all())
    return {"national_targets": count}
