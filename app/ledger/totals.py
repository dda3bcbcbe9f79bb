"""The dated totals: a learner's facts, the rows they add at each unit, and adding those rows
in the writer's transaction."""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.certificates.models import Certificate, CertificateStatus
from app.core.clock import local_date
from app.core.context import write_context
from app.learners.models import Group, Learner
from app.ledger import versions
from app.ledger.contributions import CertificateFacts, LearnerFacts, contributions
from app.ledger.models import NATION, StatTotal
from app.ledger.rules import Rules, lock_learner, rules_for, satisfying_programs

UnitKey = tuple[str, str]  # (level, unit code)
RowKey = tuple[str, str, str, date]  # (level, unit code, metric, effective date)


def adult_age(session: Session) -> int:
    """The configured age floor, from the session's `WriteContext`."""
    return write_context(session).adult_age


GROUP_FLAGS = {group.value: getattr(Learner, f"is_{group.value}") for group in Group}


def units_of(learner: Learner) -> list[UnitKey]:
    return _units(learner.commune_code, learner.province_code, learner.village_id)


def _units(commune: str, province: str, village: int | None) -> list[UnitKey]:
    units = [("commune", commune), ("province", province), ("national", NATION)]
    if village is not None:
        units.append(("village", str(village)))
    return units


def learner_facts(learner: Learner) -> LearnerFacts:
    return _learner_facts(
        learner.birth_date,
        learner.created_at,
        [getattr(learner, flag.key) for flag in GROUP_FLAGS.values()],
        learner.official_level,
    )


def _learner_facts(
    birth_date: date, created_at: datetime, flags: Sequence[bool], official_level: str | None
) -> LearnerFacts:
    """`flags` are the learner's `is_<group>` columns, in the order of `GROUP_FLAGS`."""
    return LearnerFacts(
        birth_date=birth_date,
        registered_on=local_date(created_at),
        groups=frozenset(g for g, on in zip(GROUP_FLAGS, flags, strict=True) if on),
        official_level=official_level,
    )


def certificate_facts(certificate: Certificate) -> CertificateFacts:
    return _certificate_facts(
        certificate.program_code,
        certificate.attained_at,
        certificate.status,
        certificate.revoked_at,
        certificate.vneid_delivered_at,
    )


def _certificate_facts(
    program_code: str,
    attained_at: datetime,
    status: str,
    revoked_at: datetime | None,
    delivered_at: datetime | None,
) -> CertificateFacts:
    revoked = status == CertificateStatus.revoked.value
    return CertificateFacts(
        program_code=program_code,
        attained_on=local_date(attained_at),
        revoked_on=local_date(revoked_at) if revoked and revoked_at is not None else None,
        delivered_on=local_date(delivered_at) if delivered_at else None,
    )


def spread(own: Counter[tuple[str, date]], units: list[UnitKey]) -> Counter[RowKey]:
    rows: Counter[RowKey] = Counter()
    for level, unit in units:
        for (metric, day), value in own.items():
            rows[(level, unit, metric, day)] += value
    return rows


def rows_for(
    learner: Learner,
    certificates: Iterable[Certificate],
    *,
    satisfying: Rules,
    age: int,
) -> Counter[RowKey]:
    """Every total row this learner adds to, at every unit it belongs to."""
    own = contributions(
        learner_facts(learner),
        [certificate_facts(c) for c in certificates],
        satisfying=satisfying,
        adult_age=age,
    )
    return spread(own, units_of(learner))


def new_learner_kind(row: dict[str, Any]) -> tuple[Any, ...]:
    """What the totals need of a new learner (no certificates yet), from its table row's
    values: learners of one kind add the same rows (see `new_learners_rows`)."""
    return (
        row["birth_date"],
        row["created_at"],
        tuple(row[flag.key] for flag in GROUP_FLAGS.values()),
        row["official_level"],
        row["commune_code"],
        row["province_code"],
        row["village_id"],
    )


def new_learners_rows(session: Session, kinds: Counter[tuple[Any, ...]]) -> dict[RowKey, int]:
    """What new learners add to the totals, by kind (`new_learner_kind`) and number, as
    `rows_for` counts a learner with no certificates."""
    satisfying, age = satisfying_programs(session), adult_age(session)
    delta: Counter[RowKey] = Counter()
    for kind, number in kinds.items():
        born, created, flags, level, commune, province, village = kind
        facts = _learner_facts(born, created, flags, level)
        own = contributions(facts, [], satisfying=satisfying, adult_age=age)
        for key, value in spread(own, _units(commune, province, village)).items():
            delta[key] += value * number
    return dict(delta)


def current_rows(session: Session, learner: Learner) -> Counter[RowKey]:
    certificates = session.exec(
        select(Certificate).where(Certificate.learner_id == learner.id)
    ).all()
    return rows_for(
        learner, certificates, satisfying=rules_for(session, learner.id), age=adult_age(session)
    )


@contextmanager
def tracking(session: Session, learner: Learner | None) -> Iterator[list[Learner]]:
    """Apply to the totals whatever the block changes in a learner's records.

    Pass None for a learner the block creates, and append it to the yielded list.
    """
    if learner is not None:
        lock_learner(session, learner.id)
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
    satisfying = rules_for(session, learner.id)
    age = adult_age(session)
    old = rows_for(learner, before, satisfying=satisfying, age=age)
    new = rows_for(learner, after, satisfying=satisfying, age=age)
    apply(session, _difference(new, old))


def facts_changed(
    session: Session,
    learner: Learner,
    *,
    before: Sequence[CertificateFacts],
    after: Sequence[CertificateFacts],
) -> None:
    """As `certificates_changed`, for certificates changed in place: the caller took their
    facts before it changed them."""
    satisfying = rules_for(session, learner.id)
    age = adult_age(session)
    facts = learner_facts(learner)
    units = units_of(learner)
    old = spread(contributions(facts, before, satisfying=satisfying, adult_age=age), units)
    new = spread(contributions(facts, after, satisfying=satisfying, adult_age=age), units)
    apply(session, _difference(new, old))


_COUNTED_LEARNERS = sa.select(
    col(Learner.id),
    col(Learner.birth_date),
    col(Learner.created_at),
    *GROUP_FLAGS.values(),
    col(Learner.official_level),
    col(Learner.commune_code),
    col(Learner.province_code),
    col(Learner.village_id),
)
_COUNTED_CERTIFICATES = sa.select(
    col(Certificate.learner_id),
    col(Certificate.program_code),
    col(Certificate.attained_at),
    col(Certificate.status),
    col(Certificate.revoked_at),
    col(Certificate.vneid_delivered_at),
)


def _among(column: Any, dialect: str) -> Any:
    """`column` is one of the ids given: on PostgreSQL one array parameter (`= ANY`), which
    thousands of ids pass at no cost, elsewhere one placeholder each."""
    if dialect == "postgresql":
        return column == sa.any_(bindparam("ids", type_=postgresql.ARRAY(sa.Uuid())))
    return column.in_(bindparam("ids", expanding=True))


_COUNTED = {
    dialect: (
        _COUNTED_LEARNERS.where(_among(col(Learner.id), dialect)),
        _COUNTED_CERTIFICATES.where(_among(col(Certificate.learner_id), dialect)),
    )
    for dialect in ("postgresql", "sqlite")
}


def counted_people(
    session: Session, ids: Sequence[uuid.UUID], only: Any = None
) -> Iterator[tuple[uuid.UUID, LearnerFacts, list[CertificateFacts], list[UnitKey]]]:
    """What the totals need of these learners (those of them `only` keeps), read as plain
    columns: their id, facts, certificates' facts and the units they count in."""
    learners, certificates = _COUNTED[session.get_bind().dialect.name]
    held: dict[uuid.UUID, list[Sequence[Any]]] = defaultdict(list)
    for learner_id, *columns in session.execute(certificates, {"ids": ids}):
        held[learner_id].append(columns)
    if only is not None:
        learners = learners.where(only)
    flags = len(GROUP_FLAGS)
    for row in session.execute(learners, {"ids": ids}):
        level, commune, province, village = row[3 + flags :]
        person = _learner_facts(row[1], row[2], row[3 : 3 + flags], level)
        facts = [_certificate_facts(*columns) for columns in held[row[0]]]
        yield row[0], person, facts, _units(commune, province, village)


def _difference(after: Counter[RowKey], before: Counter[RowKey]) -> dict[RowKey, int]:
    keys = set(after) | set(before)
    return {k: after[k] - before[k] for k in keys if after[k] != before[k]}


_HELD_BACK_KEY = "totals_held_back"


@contextmanager
def held_back(session: Session) -> Iterator[None]:
    """Gather what the block adds to the totals, and add it once, when the block ends well.

    For a transaction that stores many records, one savepoint each (a phone's batch, an
    import's chunk): wrap the whole of it in one block and each record's savepoint in another.
    A record whose block raises adds nothing; the others' additions reach the outermost block,
    which stores them all at its end, in key order. So a batch holds the busy rows (a
    province's registrations of the day, say) only from its end to its commit, not for its
    whole length, and two batches over the same units cannot lock them in opposite orders.
    """
    stack: list[Counter[RowKey]] = session.info.setdefault(_HELD_BACK_KEY, [])
    gathered: Counter[RowKey] = Counter()
    stack.append(gathered)
    try:
        yield
    finally:
        stack.pop()
    if stack:
        stack[-1].update(gathered)
    else:
        _store(session, {key: value for key, value in gathered.items() if value})


def apply(session: Session, delta: dict[RowKey, int]) -> None:
    """Add `delta` to the totals: now, or at the end of the enclosing `held_back` block."""
    if not delta:
        return
    stack: list[Counter[RowKey]] | None = session.info.get(_HELD_BACK_KEY)
    if stack:
        stack[-1].update(delta)
        return
    _store(session, delta)


def _store(session: Session, delta: dict[RowKey, int]) -> None:
    if not delta:
        return
    # Sorted, so concurrent writers lock rows in the same order and cannot deadlock.
    ordered = sorted(delta.items())
    if session.get_bind().dialect.name == "postgresql":
        # One statement whatever the number of rows: the rows go as five arrays.
        columns = zip(*(key for key, _ in ordered), strict=True)
        arrays = dict(zip(_ARRAYS, [*map(list, columns), [n for _, n in ordered]], strict=True))
        session.execute(_UNNEST_UPSERT, arrays)
        return
    rows = [
        {"level": level, "unit_code": unit, "metric": metric, "effective_on": day, "count": value}
        for (level, unit, metric, day), value in ordered
    ]
    session.execute(_SQLITE_UPSERT, rows)
    versions.raise_versions(session, (unit for level, unit, _, _ in delta if level == "commune"))


_COLUMNS = ("level", "unit_code", "metric", "effective_on", "count")
_ARRAYS = tuple(f"{name}s" for name in _COLUMNS)


def _upserts() -> tuple[Any, Any]:
    """The two upserts, built once so their compiled forms are cached: PostgreSQL's takes the
    rows as five arrays, SQLite's one row per execution."""
    table = StatTotal.__table__  # type: ignore[attr-defined]
    arrays = [
        bindparam(array, type_=postgresql.ARRAY(table.c[name].type))
        for name, array in zip(_COLUMNS, _ARRAYS, strict=True)
    ]
    rows = func.unnest(*arrays).table_valued(*_COLUMNS).render_derived(name="incoming")
    from_arrays: Any = postgresql.insert(table).from_select(
        list(_COLUMNS), sa.select(*(rows.c[name] for name in _COLUMNS))
    )
    one_row: Any = sqlite.insert(table)
    from_arrays, one_row = (
        base.on_conflict_do_update(
            index_elements=list(_COLUMNS[:4]),
            set_={"count": table.c.count + base.excluded.count},
        )
        for base in (from_arrays, one_row)
    )
    # The communes whose totals change have their counters raised in the same statement.
    return versions.raising_with(from_arrays, arrays[0], arrays[1]), one_row


_UNNEST_UPSERT, _SQLITE_UPSERT = _upserts()
