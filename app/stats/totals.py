"""Keeping the running totals right in the same transaction as every write."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.catalog import service as catalog
from app.certificates.models import Certificate, CertificateStatus
from app.learners.models import Learner
from app.stats.contributions import (
    CertificateFacts,
    LearnerFacts,
    contributions,
    local_date,
)
from app.stats.models import StatTotal

DEFAULT_ADULT_AGE = 18
UnitKey = tuple[str, str]  # (level, unit code)
RowKey = tuple[str, str, str, date]  # (level, unit code, metric, effective date)


def adult_age(session: Session) -> int:
    """The configured age floor, handed to the session by whoever opened it."""
    return int(session.info.get("adult_age", DEFAULT_ADULT_AGE))


def satisfying_programs(session: Session) -> dict[str, frozenset[str]]:
    """For each group, the programs whose certificate meets its default program's standard.

    A program whose required courses include all of the default's satisfies it too.
    """
    programs = catalog.requirements(session)
    required = {code: set(p.courses) for code, p in programs.items() if p.courses}
    result: dict[str, frozenset[str]] = {}
    for code, program in programs.items():
        standard = required.get(code, set())
        if standard and program.default_for:
            result[program.default_for] = frozenset(
                other for other, courses in required.items() if courses >= standard
            )
    return result


def units_of(learner: Learner) -> list[UnitKey]:
    units = [("commune", learner.commune_code), ("province", learner.province_code)]
    if learner.village_id is not None:
        units.append(("village", str(learner.village_id)))
    return units


def learner_facts(learner: Learner) -> LearnerFacts:
    return LearnerFacts(
        birth_date=learner.birth_date,
        registered_on=local_date(learner.created_at),
        groups=frozenset(g.value for g in learner.groups),
        official_level=learner.official_level,
    )


def certificate_facts(certificate: Certificate) -> CertificateFacts:
    revoked = certificate.status == CertificateStatus.revoked.value and certificate.revoked_at
    return CertificateFacts(
        program_code=certificate.program_code,
        issued_on=local_date(certificate.issued_at),
        revoked_on=local_date(certificate.revoked_at)
        if revoked and certificate.revoked_at
        else None,
        delivered_on=(
            local_date(certificate.vneid_delivered_at) if certificate.vneid_delivered_at else None
        ),
    )


def rows_for(
    learner: Learner,
    certificates: Iterable[Certificate],
    *,
    satisfying: dict[str, frozenset[str]],
    age: int,
) -> Counter[RowKey]:
    """Every total row this learner adds to, at every unit it belongs to."""
    own = contributions(
        learner_facts(learner),
        [certificate_facts(c) for c in certificates],
        satisfying=satisfying,
        adult_age=age,
    )
    rows: Counter[RowKey] = Counter()
    for level, unit in units_of(learner):
        for (metric, day), value in own.items():
            rows[(level, unit, metric, day)] += value
    return rows


def current_rows(session: Session, learner: Learner) -> Counter[RowKey]:
    certificates = session.exec(
        select(Certificate).where(Certificate.learner_id == learner.id)
    ).all()
    return rows_for(
        learner, certificates, satisfying=satisfying_programs(session), age=adult_age(session)
    )


@contextmanager
def tracking(session: Session, learner: Learner | None) -> Iterator[list[Learner]]:
    """Apply to the totals whatever the block changes in a learner's records.

    Pass None for a learner the block creates, and append it to the yielded list.
    """
    if learner is not None:
        lock_learner(session, learner)
    before = current_rows(session, learner) if learner is not None else Counter()
    subjects = [learner] if learner is not None else []
    yield subjects
    session.flush()
    after: Counter[RowKey] = Counter()
    for subject in subjects:
        after.update(current_rows(session, subject))
    apply(session, _difference(after, before))


def certificates_changed(
    session: Session,
    learner: Learner,
    *,
    before: Sequence[Certificate],
    after: Sequence[Certificate],
) -> None:
    """Apply what a change in the learner's certificates adds, when the caller knows both sets.

    The caller holds the learner's lock (`lock_learner`) from before it read `before`.
    """
    satisfying = satisfying_programs(session)
    age = adult_age(session)
    old = rows_for(learner, before, satisfying=satisfying, age=age)
    new = rows_for(learner, after, satisfying=satisfying, age=age)
    apply(session, _difference(new, old))


def lock_learner(session: Session, learner: Learner) -> None:
    """Serialize changes to one learner's counted records (a no-op lock on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Learner.id).where(Learner.id == learner.id).with_for_update())


def _difference(after: Counter[RowKey], before: Counter[RowKey]) -> dict[RowKey, int]:
    keys = set(after) | set(before)
    return {k: after[k] - before[k] for k in keys if after[k] != before[k]}


def apply(session: Session, delta: dict[RowKey, int]) -> None:
    """Add `delta` to the stored totals."""
    if not delta:
        return
    # Sorted, so concurrent writers lock rows in the same order and cannot deadlock.
    rows = [
        {"level": level, "unit_code": unit, "metric": metric, "effective_on": day, "count": value}
        for (level, unit, metric, day), value in sorted(delta.items())
    ]
    session.execute(_upsert(session.get_bind().dialect.name), rows)


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """One upsert statement per dialect, built once, so its compiled form is cached."""
    statement = _UPSERTS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = StatTotal.__table__  # type: ignore[attr-defined]
        base = insert(table)
        statement = base.on_conflict_do_update(
            index_elements=["level", "unit_code", "metric", "effective_on"],
            set_={"count": table.c.count + base.excluded.count},
        )
        _UPSERTS[dialect] = statement
    return statement


def totals_as_of(
    session: Session, *, level: str, units: Sequence[str] | None, as_of: date
) -> dict[str, dict[str, int]]:
    """Each unit's metric values on `as_of` (all units of the level when `units` is None)."""
    statement = (
        select(StatTotal.unit_code, StatTotal.metric, func.sum(StatTotal.count))
        .where(StatTotal.level == level, col(StatTotal.effective_on) <= as_of)
        .group_by(col(StatTotal.unit_code), col(StatTotal.metric))
    )
    if units is not None:
        statement = statement.where(col(StatTotal.unit_code).in_(list(units)))
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for unit, metric, total in session.exec(statement).all():
        result[unit][metric] = int(total or 0)
    return result
