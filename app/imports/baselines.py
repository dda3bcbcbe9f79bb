"""Importing baselines (denominators per commune and year)."""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, ValidationError
from sqlmodel import Session

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.core.bounds import InputModel
from app.core.db import utcnow
from app.core.errors import DomainError, invalid_field
from app.imports import columns
from app.imports.context import ChunkOutcome, ImportContext, SourceRow, commune_code, row_problem
from app.stats.models import Baseline
from app.units.models import Commune

COUNTS = ("adults", "officials", "pupils", "workers")
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class BaselineRow(InputModel):
    model_config = ConfigDict(extra="forbid")

    commune_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
    year: Annotated[int, Field(ge=2000, le=2100)]
    adults: Count
    officials: Count
    pupils: Count
    workers: Count


def upsert_baseline(
    session: Session, *, actor: Actor, data: BaselineRow
) -> Literal["created", "updated", "unchanged"]:
    """Store a commune's denominators for a year (commune, province or national admins)."""
    actor.require(
        Role.national_admin, Role.province_admin, Role.commune_admin, action="baseline.import"
    )
    commune = session.get(Commune, data.commune_code)
    if commune is None:
        raise invalid_field("commune_code", "commune.unknown")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="baseline.import"
    )
    values = data.model_dump(include=set(COUNTS))
    baseline = session.get(Baseline, (commune.code, data.year))
    if baseline is not None and all(getattr(baseline, k) == v for k, v in values.items()):
        return "unchanged"
    outcome: Literal["created", "updated"] = "updated" if baseline else "created"
    if baseline is None:
        baseline = Baseline(
            commune_code=commune.code, year=data.year, province_code=commune.province_code, **values
        )
    for name, value in values.items():
        setattr(baseline, name, value)
    baseline.updated_at = utcnow()
    baseline.updated_by_id = actor.user_id
    session.add(baseline)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="baseline.create" if outcome == "created" else "baseline.update",
        target_type="baseline",
        target_id=f"{commune.code}/{data.year}",
        province_code=commune.province_code,
        commune_code=commune.code,
        detail=values,
    )
    return outcome


def payload(row: SourceRow, default_commune_code: str | None) -> dict[str, Any]:
    f = row.fields
    body = {
        "commune_code": commune_code(f.get("commune_code")) or default_commune_code,
        "year": columns.whole_number(f.get("year")),
        **{name: columns.whole_number(f.get(name)) for name in COUNTS},
    }
    return {k: v for k, v in body.items() if v is not None}


def store_chunk(session: Session, ctx: ImportContext, rows: list[SourceRow]) -> ChunkOutcome:
    """Store each row's baseline; the same figures again count as duplicates."""
    outcome = ChunkOutcome()
    for row in rows:
        try:
            data = BaselineRow.model_validate(payload(row, ctx.default_commune_code))
        except ValidationError as exc:
            outcome.reject(row, row_problem(exc))
            continue
        try:
            with session.begin_nested():
                result = upsert_baseline(session, actor=ctx.actor, data=data)
        except DomainError as exc:
            outcome.reject(row, exc)
            continue
        if result == "unchanged":
            outcome.duplicate += 1
        else:
            outcome.stored += 1
    return outcome
