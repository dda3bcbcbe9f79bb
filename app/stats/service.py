"""Indicators at a unit on a date, read from running totals (never from learners)."""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, case, func
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.core.db import read_columns
from app.core.direct import DirectRunner, Query, Rows
from app.core.errors import NotFound
from app.core.i18n import Language
from app.ledger.models import NATION, RulesRecount, StatTotal
from app.stats.indicators import BY_INDICATOR, DEFINITIONS, Definition, Indicator
from app.stats.models import Baseline, Target
from app.stats.schemas import (
    IndicatorValue,
    RecountPublic,
    RecountState,
    RecountUnderWay,
    Scope,
    TargetPublic,
    Unit,
    UnitStats,
)
from app.units.models import Commune, Province, Village

PACE_DAYS = 90


@dataclass(frozen=True)
class UnitRef:
    level: str  # national, province, commune, village
    code: str
    name: str
    province_code: str | None = None
    commune_code: str | None = None

    def public(self) -> Unit:
        return Unit(level=self.level, code=self.code, name=self.name)


def national_unit() -> UnitRef:
    return UnitRef("national", NATION, "Việt Nam")


# Administrative units change only when the official list is loaded again (`hocvuso seed`),
# so a process keeps each unit it has read, per database; a restart picks up a new list.
# Threads may race to read the same unit; both store the same value.
_KNOWN_UNITS: dict[tuple[str, str, str], UnitRef] = {}


_PROVINCE = sa.select(col(Province.name)).where(col(Province.code) == bindparam("code"))
_COMMUNE = sa.select(col(Commune.name), col(Commune.province_code)).where(
    col(Commune.code) == bindparam("code")
)


def unit_read(level: str, code: str) -> Query:
    """The read of a province or commune (see `known_unit`)."""
    return (_PROVINCE if level == "province" else _COMMUNE), {"code": code}


def _unit_from(level: str, code: str, rows: Rows) -> UnitRef | None:
    if not rows:
        return None
    if level == "province":
        return UnitRef("province", code, rows[0][0], province_code=code)
    name, province_code = rows[0]
    return UnitRef("commune", code, name, province_code, code)


def _unit_key(engine: Any, level: str, code: str) -> tuple[str, str, str]:
    return (str(engine.url), level, code)


def _known_unit(session: Session, level: str, code: str) -> UnitRef | None:
    key = _unit_key(session.get_bind().engine, level, code)
    unit = _KNOWN_UNITS.get(key)
    if unit is None:
        unit = _unit_from(level, code, read_columns(session, *unit_read(level, code)))
        if unit is not None:
            _KNOWN_UNITS[key] = unit
    return unit


def province_unit(session: Session, code: str) -> UnitRef:
    unit = _known_unit(session, "province", code)
    if unit is None:
        raise NotFound("what.province")
    return unit


def commune_unit(session: Session, code: str) -> UnitRef:
    unit = _known_unit(session, "commune", code)
    if unit is None:
        raise NotFound("what.commune")
    return unit


def known_unit(direct: DirectRunner, level: str, code: str) -> UnitRef | None:
    """The nation, or a province or commune this process has read before."""
    if level == "national":
        return national_unit()
    return _KNOWN_UNITS.get(_unit_key(direct.engine, level, code))


def unit_from(direct: DirectRunner, level: str, code: str, rows: Rows) -> UnitRef:
    """The unit `unit_read` found, now known to this process; 404 if there is none."""
    unit = _unit_from(level, code, rows)
    if unit is None:
        raise NotFound(f"what.{level}")
    _KNOWN_UNITS[_unit_key(direct.engine, level, code)] = unit
    return unit


def require_visible(actor: Actor, unit: UnitRef, *, action: str) -> None:
    """Staff see the units inside their scope; anything else answers 404."""
    if unit.level == "national":
        if actor.province_code is None and actor.commune_code is None:
            return
        raise NotFound("what.resource", audit_action=action, audit_target=NATION)
    what = "what.province" if unit.level == "province" else "what.commune"
    if unit.level == "province" and actor.role not in ("national_admin", "province_admin"):
        raise NotFound(what, audit_action=action, audit_target=unit.code)
    actor.require_in_scope(
        unit.province_code, unit.commune_code or "", what=what, action=action, target=unit.code
    )


def _read_metrics() -> tuple[str, ...]:
    """The running totals that some indicator reads, as numerator or denominator."""
    names = {d.numerator for d in DEFINITIONS} | {d.registered for d in DEFINITIONS}
    return tuple(sorted(names))


METRICS = _read_metrics()


def _summed(unit_code: Any, metric: Any, *, after: bool) -> Any:
    """The sum of one unit's metric up to `as_of` (or only after `past`), as a subquery that
    reads one range of the totals' key: rows dated later, such as the coming birthdays of
    today's minors, are never read."""
    statement = (
        sa.select(func.coalesce(func.sum(StatTotal.count), 0))
        .where(col(StatTotal.level) == bindparam("level"))
        .where(col(StatTotal.unit_code) == unit_code)
        .where(col(StatTotal.metric) == metric)
        .where(col(StatTotal.effective_on) <= bindparam("as_of"))
    )
    if after:
        statement = statement.where(col(StatTotal.effective_on) > bindparam("past"))
    return statement.scalar_subquery()


def _metric_statement() -> sa.Select[str, str, int, int]:
    """One unit's value of each metric on `as_of`, and what it gained after `past`.

    Each metric is summed over its own range of the key, so rows dated after `as_of` (the
    coming birthdays of today's minors, who will count as adults then) are never read.
    """
    metrics = sa.union_all(
        *(sa.select(sa.literal_column(f"'{name}'", sa.String).label("metric")) for name in METRICS)
    ).subquery("metrics")
    unit = sa.select(bindparam("unit", type_=sa.String).label("code")).subquery("units")
    return sa.select(
        unit.c.code,
        metrics.c.metric,
        _summed(unit.c.code, metrics.c.metric, after=False),
        _summed(unit.c.code, metrics.c.metric, after=True),
    ).select_from(unit.join(metrics, sa.true()))


def _breakdown_statement() -> sa.Select[str, str, int, int]:
    """The same for many units at once (a breakdown), in one pass over their rows."""
    recent = func.sum(
        case((col(StatTotal.effective_on) > bindparam("past"), StatTotal.count), else_=0)
    )
    return (
        sa.select(
            col(StatTotal.unit_code), col(StatTotal.metric), func.sum(StatTotal.count), recent
        )
        .where(col(StatTotal.level) == bindparam("level"))
        .where(col(StatTotal.unit_code).in_(bindparam("units", expanding=True)))
        .where(col(StatTotal.effective_on) <= bindparam("as_of"))
        .group_by(col(StatTotal.unit_code), col(StatTotal.metric))
    )


_METRICS_OF_UNIT = _metric_statement()
_METRICS_OF_UNITS = _breakdown_statement()


def _metrics_read(level: str, units: Sequence[str], as_of: date, past: date) -> Query:
    parameters: dict[str, object] = {"level": level, "as_of": as_of, "past": past}
    if len(units) == 1:
        return _METRICS_OF_UNIT, parameters | {"unit": units[0]}
    return _METRICS_OF_UNITS, parameters | {"units": list(units)}


def _metrics_from(rows: Rows) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    values: dict[str, tuple[dict[str, int], dict[str, int]]] = defaultdict(lambda: ({}, {}))
    for unit, metric, now_total, recent in rows:
        now = int(now_total or 0)
        values[unit][0][metric] = now
        values[unit][1][metric] = now - int(recent or 0)
    return values


def metric_values(
    session: Session, *, level: str, units: Sequence[str], as_of: date, past: date
) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Per unit: every metric's value on `as_of` and on the earlier day `past`."""
    return _metrics_from(read_columns(session, *_metrics_read(level, units, as_of, past)))


def _sum_units(
    values: dict[str, tuple[dict[str, int], dict[str, int]]],
) -> tuple[dict[str, int], dict[str, int]]:
    now: dict[str, int] = defaultdict(int)
    past: dict[str, int] = defaultdict(int)
    for unit_now, unit_past in values.values():
        for metric, value in unit_now.items():
            now[metric] += value
        for metric, value in unit_past.items():
            past[metric] += value
    return now, past


BASELINE_COLUMNS = ("adults", "officials", "pupils", "workers")


_BASELINE_FIELDS = sa.select(
    col(Baseline.commune_code),
    col(Baseline.adults),
    col(Baseline.officials),
    col(Baseline.pupils),
    col(Baseline.workers),
).where(col(Baseline.year) == bindparam("year"))
_BASELINE_OF_COMMUNE = _BASELINE_FIELDS.where(col(Baseline.commune_code) == bindparam("code"))
_BASELINES_OF_PROVINCE = _BASELINE_FIELDS.where(col(Baseline.province_code) == bindparam("code"))
_BASELINES_OF_NATION = _BASELINE_FIELDS


def _baselines_read(unit: UnitRef, year: int) -> Query:
    if unit.level == "province":
        return _BASELINES_OF_PROVINCE, {"year": year, "code": unit.code}
    if unit.level in ("commune", "village"):
        return _BASELINE_OF_COMMUNE, {"year": year, "code": unit.commune_code}
    return _BASELINES_OF_NATION, {"year": year}


def _baselines_from(
    unit: UnitRef, rows: Rows, *, communes: int, by_commune: bool = False
) -> dict[str, dict[str, int]]:
    per_commune = {row[0]: dict(zip(BASELINE_COLUMNS, row[1:], strict=True)) for row in rows}
    if by_commune:
        return per_commune
    if unit.level == "village" or not per_commune or len(per_commune) < communes:
        return {}
    summed = {name: sum(b[name] for b in per_commune.values()) for name in BASELINE_COLUMNS}
    return {unit.code: summed}


def baselines(
    session: Session, *, unit: UnitRef, year: int, by_commune: bool = False
) -> dict[str, dict[str, int]]:
    """Baselines for a unit's year, keyed by commune (or summed when the unit is complete).

    A province's or the nation's baseline exists only when every one of its communes has one
    for that year; otherwise the registered count is the denominator, and the answer says so.
    """
    rows = read_columns(session, *_baselines_read(unit, year))
    communes = 1 if by_commune else _commune_count(session, unit)
    return _baselines_from(unit, rows, communes=communes, by_commune=by_commune)


_COMMUNES_OF_PROVINCE = (
    sa.select(func.count())
    .select_from(Commune)
    .where(col(Commune.province_code) == bindparam("code"))
)
_COMMUNES_OF_NATION = sa.select(func.count()).select_from(Commune)


def _communes_read(unit: UnitRef) -> Query:
    if unit.level == "province":
        return _COMMUNES_OF_PROVINCE, {"code": unit.code}
    return _COMMUNES_OF_NATION, {}


def _commune_count(session: Session, unit: UnitRef) -> int:
    """How many communes a unit has (administrative units change only with the seed)."""
    if unit.level in ("commune", "village"):
        return 1
    key = unit.code if unit.level == "province" else NATION
    cache: dict[str, int] = session.info.setdefault("commune_counts", {})
    if key not in cache:
        cache[key] = read_columns(session, *_communes_read(unit))[0][0]
    return cache[key]


@dataclass(frozen=True)
class AppliedTarget:
    """A target as the indicators read it (a `Target` row without its bookkeeping)."""

    indicator: str
    level: str
    scope_code: str
    kind: str
    value: float
    deadline: date
    updated_at: datetime


_TARGET_FIELDS = sa.select(
    col(Target.indicator),
    col(Target.level),
    col(Target.scope_code),
    col(Target.kind),
    col(Target.value),
    col(Target.deadline),
    col(Target.updated_at),
)
_TARGETS_OF_SCOPES = _TARGET_FIELDS.where(
    col(Target.scope_code).in_(bindparam("codes", expanding=True))
)
# One unit's chain (nation, province, commune) has at most three scopes: a statement with no
# expanding list, compiled once.
_TARGETS_OF_CHAIN = _TARGET_FIELDS.where(
    col(Target.scope_code).in_([bindparam("code_1"), bindparam("code_2"), bindparam("code_3")])
)


def _scopes(units: list[UnitRef]) -> set[tuple[str, str]]:
    scopes = {("national", NATION)}
    for unit in units:
        if unit.province_code:
            scopes.add(("province", unit.province_code))
        if unit.commune_code:
            scopes.add(("commune", unit.commune_code))
    return scopes


def _targets_read(units: list[UnitRef]) -> Query:
    codes = sorted({code for _, code in _scopes(units)})
    if len(codes) <= 3:
        padded = (codes * 3)[:3]
        return _TARGETS_OF_CHAIN, {f"code_{i}": code for i, code in enumerate(padded, 1)}
    return _TARGETS_OF_SCOPES, {"codes": codes}


def _targets_from(units: list[UnitRef], rows: Rows) -> dict[str, dict[Indicator, AppliedTarget]]:
    scopes = _scopes(units)
    found = {
        (t.level, t.scope_code, Indicator(t.indicator)): t
        for t in (AppliedTarget(*row) for row in rows)
        if (t.level, t.scope_code) in scopes
    }
    result: dict[str, dict[Indicator, AppliedTarget]] = {}
    for unit in units:
        chain: list[tuple[str, str]] = [
            (level, code)
            for level, code in (("commune", unit.commune_code), ("province", unit.province_code))
            if code
        ]
        chain.append(("national", NATION))
        if unit.level == "national":
            chain = [("national", NATION)]
        elif unit.level == "province":
            chain = [("province", unit.code), ("national", NATION)]
        applied: dict[Indicator, AppliedTarget] = {}
        for indicator in Indicator:
            for level, code in chain:
                target = found.get((level, code, indicator))
                if target is not None:
                    applied[indicator] = target
                    break
        result[unit.code] = applied
    return result


def targets_for(
    session: Session, units: Iterable[UnitRef]
) -> dict[str, dict[Indicator, AppliedTarget]]:
    """The target that applies to each unit and indicator: the most specific scope wins."""
    units = list(units)
    return _targets_from(units, read_columns(session, *_targets_read(units)))


def target_public(target: Target | AppliedTarget) -> TargetPublic:
    code = None if target.level == "national" else target.scope_code
    return TargetPublic(
        indicator=Indicator(target.indicator),
        scope=Scope(level=target.level, code=code),
        kind=target.kind,
        value=target.value,
        deadline=target.deadline,
        updated_at=target.updated_at,
    )


def evaluate(
    definition: Definition,
    *,
    now: dict[str, int],
    past: dict[str, int],
    baseline: dict[str, int] | None,
    target: AppliedTarget | None,
    as_of: date,
    lang: Language,
) -> IndicatorValue:
    """Numerator, denominator, rate, and how it stands against the target."""
    numerator = now.get(definition.numerator, 0)
    if baseline is not None and definition.baseline is not None:
        denominator, source = baseline[definition.baseline], "baseline"
    else:
        denominator, source = now.get(definition.registered, 0), "registered"
    rate = numerator / denominator if denominator else None
    gap = on_track = projected_rate = projected_count = None
    if target is not None:
        pace = (numerator - past.get(definition.numerator, 0)) / PACE_DAYS
        days_left = max((target.deadline - as_of).days, 0)
        projected_count = round(numerator + pace * days_left)
        if source == "registered":
            projected_count = min(projected_count, denominator)
        projected_rate = projected_count / denominator if denominator else None
        if target.kind == "rate":
            needed = math.ceil(target.value * denominator - 1e-9)
            gap = max(0, needed - numerator)
            # With no one to count, no one is missing and nothing can be off track.
            if projected_rate is not None:
                on_track = projected_rate >= target.value - 1e-12
        else:
            gap = max(0, math.ceil(target.value) - numerator)
            on_track = projected_count >= target.value
    return IndicatorValue(
        indicator=definition.indicator,
        title=definition.title_en if lang == "en" else definition.title_vi,
        numerator=numerator,
        denominator=denominator,
        denominator_source=source,
        rate=rate,
        target=target_public(target) if target is not None else None,
        gap=gap,
        on_track=on_track,
        projected_rate=projected_rate,
        projected_count=projected_count,
    )


_RECOUNT_UNDER_WAY = (
    sa.select(col(RulesRecount.program_code), col(RulesRecount.created_at))
    .where(col(RulesRecount.finished_at).is_(None))
    .order_by(col(RulesRecount.id))
    .limit(1)
)


def _recount_from(rows: Rows) -> RecountUnderWay | None:
    return RecountUnderWay(program_code=rows[0][0], started_at=rows[0][1]) if rows else None


def stats_reads(unit: UnitRef, as_of: date) -> list[Query]:
    """What `stats_from` needs read; on PostgreSQL they go in one round trip."""
    reads = [
        _metrics_read(unit.level, [unit.code], as_of, as_of - timedelta(days=PACE_DAYS)),
        _baselines_read(unit, as_of.year),
        _targets_read([unit]),
        (_RECOUNT_UNDER_WAY, {}),
    ]
    if unit.level in ("province", "national"):
        reads.append(_communes_read(unit))
    return reads


def stats_from(unit: UnitRef, as_of: date, lang: Language, results: list[Rows]) -> UnitStats:
    """Every indicator for one unit on `as_of`, from the rows of `stats_reads`."""
    metrics, baseline_rows, target_rows, recount, *counted = results
    now, past = _sum_units(_metrics_from(metrics))
    communes = counted[0][0][0] if counted else 1
    baseline = _baselines_from(unit, baseline_rows, communes=communes).get(unit.code)
    targets = _targets_from([unit], target_rows)[unit.code]
    return UnitStats(
        unit=unit.public(),
        as_of=as_of,
        indicators=[
            evaluate(
                d,
                now=now,
                past=past,
                baseline=baseline,
                target=targets.get(d.indicator),
                as_of=as_of,
                lang=lang,
            )
            for d in DEFINITIONS
        ],
        recount=_recount_from(recount),
    )


def unit_stats(session: Session, *, unit: UnitRef, as_of: date, lang: Language) -> UnitStats:
    """Every indicator for one unit on `as_of`."""
    results = [read_columns(session, *query) for query in stats_reads(unit, as_of)]
    return stats_from(unit, as_of, lang, results)


def child_units(session: Session, parent: UnitRef) -> list[UnitRef]:
    """The provinces of the nation, the communes of a province, or the villages of a commune."""
    if parent.level == "national":
        provinces = session.exec(select(Province).order_by(col(Province.code))).all()
        return [UnitRef("province", p.code, p.name, p.code) for p in provinces]
    if parent.level == "province":
        communes = session.exec(
            select(Commune).where(Commune.province_code == parent.code).order_by(col(Commune.code))
        ).all()
        return [UnitRef("commune", c.code, c.name, c.province_code, c.code) for c in communes]
    villages = session.exec(
        select(Village).where(Village.commune_code == parent.code).order_by(col(Village.id))
    ).all()
    return [
        UnitRef("village", str(v.id), v.name, v.province_code, v.commune_code) for v in villages
    ]


def breakdown(session: Session, *, parent: UnitRef, as_of: date, lang: Language) -> list[UnitStats]:
    """Every indicator for each child unit, with a handful of queries for all of them."""
    children = child_units(session, parent)
    level = {"national": "province", "province": "commune", "commune": "village"}[parent.level]
    values = metric_values(
        session,
        level=level,
        units=[u.code for u in children],
        as_of=as_of,
        past=as_of - timedelta(days=PACE_DAYS),
    )
    if parent.level == "national":
        per_unit = {
            child.code: baselines(session, unit=child, year=as_of.year).get(child.code)
            for child in children
        }
    elif parent.level == "province":
        per_unit = dict(baselines(session, unit=parent, year=as_of.year, by_commune=True))
    else:
        per_unit = {}
    targets = targets_for(session, children)
    recount = _recount_from(read_columns(session, _RECOUNT_UNDER_WAY, {}))
    result = []
    for child in children:
        now, past = values.get(child.code, ({}, {}))
        result.append(
            UnitStats(
                unit=child.public(),
                as_of=as_of,
                indicators=[
                    evaluate(
                        d,
                        now=now,
                        past=past,
                        baseline=per_unit.get(child.code),
                        target=targets[child.code].get(d.indicator),
                        as_of=as_of,
                        lang=lang,
                    )
                    for d in DEFINITIONS
                ],
                recount=recount,
            )
        )
    return result


def definition_of(indicator: Indicator) -> Definition:
    return BY_INDICATOR[indicator]


def recount_state(session: Session) -> RecountState:
    """The latest recount after a change to a program's standard."""
    latest = session.exec(
        select(RulesRecount).order_by(col(RulesRecount.id).desc()).limit(1)
    ).first()
    if latest is None or latest.id is None:
        return RecountState(pending=False, latest=None)
    return RecountState(
        pending=latest.finished_at is None,
        latest=RecountPublic(
            id=latest.id,
            program_code=latest.program_code,
            finished=latest.finished_at is not None,
            recounted_learners=latest.recounted,
            started_at=latest.created_at,
            finished_at=latest.finished_at,
        ),
    )
