"""Keeping the running totals right in the same transaction as every write."""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.catalog.models import Program, ProgramCourse
from app.certificates.models import Certificate, CertificateStatus
from app.core.clock import local_date
from app.core.context import write_context
from app.core.db import read_columns, utcnow
from app.learners.models import Group, Learner
from app.ledger import versions
from app.ledger.contributions import CertificateFacts, LearnerFacts, contributions
from app.ledger.models import NATION, RulesRecount, StatTotal

UnitKey = tuple[str, str]  # (level, unit code)
RowKey = tuple[str, str, str, date]  # (level, unit code, metric, effective date)


def adult_age(session: Session) -> int:
    """The configured age floor, from the session's `WriteContext`."""
    return write_context(session).adult_age


# Which certificates count for a group depends on the programs' courses and default groups
# (the counting rules). A change to them holds this transaction lock exclusively
# (`hold_counting_rules`), and so does each batch of the recount that follows it; every write
# that works out a learner's rows holds it shared, taken with the learner's lock, and reads the
# rules, and how far a pending recount got, after taking it. So a write never interleaves with
# a change or a batch, and works from the rules its learner is counted by when it commits.
COUNTING_RULES_LOCK = 0x686F6376_74746C73
_SATISFYING_KEY = "satisfying_programs"
_PENDING_KEY = "pending_recount"
Rules = dict[str, frozenset[str]]


@dataclass(frozen=True)
class PendingRecount:
    """A change of rules whose recount has not finished: learners after `done_through` (all,
    when it is None), up to `stop_at` (if set), are still counted by the rules as they were
    (`before`)."""

    id: int
    before: Rules
    done_through: uuid.UUID | None
    stop_at: uuid.UUID | None

    def counts_by_before(self, learner_id: uuid.UUID) -> bool:
        if self.done_through is not None and learner_id <= self.done_through:
            return False
        return self.stop_at is None or learner_id <= self.stop_at


_PENDING = (
    sa.select(col(RulesRecount.id))
    .where(col(RulesRecount.finished_at).is_(None))
    .order_by(col(RulesRecount.id))
    .limit(1)
)
# The rules and the pending recount in one statement, so the two are read at the same moment.
_PROGRAM_COURSES = (
    sa.select(
        col(Program.code),
        col(Program.default_for),
        col(ProgramCourse.course_code),
        col(RulesRecount.id),
        col(RulesRecount.before),
        col(RulesRecount.done_through),
        col(RulesRecount.stop_at),
    )
    .select_from(Program)
    .outerjoin(ProgramCourse, col(ProgramCourse.program_code) == col(Program.code))
    .outerjoin(RulesRecount, col(RulesRecount.id) == _PENDING.scalar_subquery())
)


def satisfying_programs(session: Session) -> Rules:
    """For each group, the programs whose certificate meets its default program's standard.

    A program whose required courses include all of the default's satisfies it too. Read once
    per learner lock (`lock_learner`), so it is never older than the lock.
    """
    cached: Rules | None = session.info.get(_SATISFYING_KEY)
    if cached is not None:
        return cached
    required: dict[str, set[str]] = defaultdict(set)
    default_for: dict[str, str] = {}
    pending: PendingRecount | None = None
    for code, group, course, pending_id, before, done_through, stop_at in read_columns(
        session, _PROGRAM_COURSES, {}
    ):
        if course is not None:
            required[code].add(course)
        if group:
            default_for[code] = group
        if pending_id is not None:
            pending = PendingRecount(pending_id, rules_from_json(before), done_through, stop_at)
    result: Rules = {}
    for code, group in default_for.items():
        standard = required.get(code)
        if standard:
            result[group] = frozenset(
                other for other, courses in required.items() if courses >= standard
            )
    session.info[_SATISFYING_KEY] = result
    session.info[_PENDING_KEY] = pending
    return result


def recount_pending(session: Session) -> bool:
    """Whether a change of rules is still being recounted: a plain look, with no lock taken
    and the rules not read."""
    return bool(session.execute(_PENDING).first())


def pending_recount(session: Session) -> PendingRecount | None:
    """The change of rules still being recounted, read with the rules."""
    satisfying_programs(session)
    pending: PendingRecount | None = session.info.get(_PENDING_KEY)
    return pending


def rules_for(session: Session, learner_id: uuid.UUID | None) -> Rules:
    """The rules a learner is counted by: those in force, unless a pending recount has not
    reached the learner yet (a learner not yet stored has no certificates to count)."""
    rules = satisfying_programs(session)
    pending = pending_recount(session)
    if pending is None or learner_id is None or not pending.counts_by_before(learner_id):
        return rules
    return pending.before


def rules_from_json(value: dict[str, list[str]]) -> Rules:
    return {group: frozenset(programs) for group, programs in value.items()}


def rules_to_json(rules: Rules) -> dict[str, list[str]]:
    return {group: sorted(programs) for group, programs in sorted(rules.items())}


def forget_counting_rules(session: Session) -> None:
    """Make the next `satisfying_programs` read the rules again (after a change to them)."""
    session.info.pop(_SATISFYING_KEY, None)
    session.info.pop(_PENDING_KEY, None)


def hold_counting_rules(session: Session) -> Rules:
    """Take the counting rules' lock exclusively, and return the rules as they stand."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(func.pg_advisory_xact_lock(COUNTING_RULES_LOCK)))
    forget_counting_rules(session)
    return satisfying_programs(session)


_GROUP_FLAGS = {group.value: getattr(Learner, f"is_{group.value}") for group in Group}


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
        [getattr(learner, flag.key) for flag in _GROUP_FLAGS.values()],
        learner.official_level,
    )


def _learner_facts(
    birth_date: date, created_at: datetime, flags: Sequence[bool], official_level: str | None
) -> LearnerFacts:
    """`flags` are the learner's `is_<group>` columns, in the order of `_GROUP_FLAGS`."""
    return LearnerFacts(
        birth_date=birth_date,
        registered_on=local_date(created_at),
        groups=frozenset(g for g, on in zip(_GROUP_FLAGS, flags, strict=True) if on),
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
        tuple(row[flag.key] for flag in _GROUP_FLAGS.values()),
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


RECOUNT_BATCH = 2_000  # people recounted in one transaction, while writes wait

_COUNTED_LEARNERS = sa.select(
    col(Learner.id),
    col(Learner.birth_date),
    col(Learner.created_at),
    *_GROUP_FLAGS.values(),
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


def _changes(before: Rules, after: Rules) -> tuple[list[str], list[str]]:
    """What a change of rules moves: the programs whose standing changed for some group, and
    those groups."""
    programs: set[str] = set()
    groups = []
    for group in sorted(before.keys() | after.keys()):
        changed = before.get(group, frozenset()) ^ after.get(group, frozenset())
        if changed:
            programs |= changed
            groups.append(group)
    return sorted(programs), groups


def _members(groups: Sequence[str]) -> Any:
    """A condition on learners that keeps the members of these groups (the citizens' standard
    counts every adult, so a change to it keeps everyone)."""
    return sa.or_(
        *(sa.true() if group == Group.citizen.value else _GROUP_FLAGS[group] for group in groups)
    )


def schedule_recount(
    session: Session, before: Rules, after: Rules, *, program_code: str, requested_by: int | None
) -> RulesRecount:
    """Record what a change of the counting rules from `before` to `after` moves, to be
    recounted after it.

    `before` is what `hold_counting_rules` returned; the lock is held until the transaction
    ends. The caller has checked that the change moves someone (`moves_anyone`) and that no
    other is still being recounted (`pending_recount`).
    """
    programs, groups = _changes(before, after)
    recount = RulesRecount(
        program_code=program_code,
        before=rules_to_json(before),
        programs=programs,
        groups=groups,
        requested_by_id=requested_by,
    )
    session.add(recount)
    _recounts_changed(session)
    return recount


def _recounts_changed(session: Session) -> None:
    """After a recount began or ended: the rules are read again, and every unit's answer, which
    says whether one is under way, is answered anew."""
    session.flush()
    versions.raise_versions(session, [versions.EVERYTHING])
    forget_counting_rules(session)


def undo_pending(
    session: Session,
    pending: PendingRecount,
    current: Rules,
    *,
    program_code: str,
    requested_by: int | None,
) -> RulesRecount | None:
    """After a change that brings the rules back to the pending recount's `before`: the
    people it had not reached are counted right already, and those it had (counted by
    `current`, the rules the change found) are recounted back. The pending recount ends;
    returns the one that undoes it, or None when it had reached no one. The pending recount
    must cover every learner (no `stop_at`)."""
    ending = session.get(RulesRecount, pending.id)
    assert ending is not None
    ending.finished_at = utcnow()
    session.add(ending)
    recount = None
    if pending.done_through is not None:
        recount = RulesRecount(
            program_code=program_code,
            before=rules_to_json(current),
            programs=ending.programs,
            groups=ending.groups,
            stop_at=pending.done_through,
            requested_by_id=requested_by,
        )
        session.add(recount)
    _recounts_changed(session)
    return recount


def moves_anyone(before: Rules, after: Rules) -> bool:
    """Whether a change of rules changes any program's standing for any group."""
    return bool(_changes(before, after)[0])


_HOLDERS = (
    sa.select(col(Certificate.learner_id))
    .where(
        col(Certificate.program_code).in_(bindparam("programs", expanding=True)),
        col(Certificate.learner_id) > bindparam("last"),
    )
    .group_by(col(Certificate.learner_id))
    .order_by(col(Certificate.learner_id))
    .limit(bindparam("batch"))
)


def recount_step(session: Session, batch: int | None = None) -> RulesRecount | None:
    """Recount the next batch of people a pending change of rules moves; returns the recount
    (its `finished_at` set once no one is left), or None when none is pending.

    Holds the counting rules' lock exclusively until the transaction ends, so writes wait for
    one batch at most. Holders of the programs concerned are found from the certificates' own
    index; their records are read as plain columns, the groups' members only; and the batch's
    difference between the old and the new rules is added to the totals.
    """
    rules_after = hold_counting_rules(session)
    pending = pending_recount(session)
    if pending is None:
        return None
    recount = session.get(RulesRecount, pending.id, populate_existing=True)
    assert recount is not None
    last = recount.done_through or uuid.UUID(int=0)  # before every id
    batch = batch or RECOUNT_BATCH
    ids = [
        row[0]
        for row in session.execute(
            _HOLDERS, {"programs": recount.programs, "last": last, "batch": batch}
        )
        if recount.stop_at is None or row[0] <= recount.stop_at
    ]
    age = adult_age(session)
    delta: Counter[RowKey] = Counter()
    recounted = 0
    for _, person, certificates, units in counted_people(session, ids, _members(recount.groups)):
        own = contributions(person, certificates, satisfying=rules_after, adult_age=age)
        own.subtract(contributions(person, certificates, satisfying=pending.before, adult_age=age))
        delta.update(spread(own, units))
        recounted += 1
    apply(session, {key: value for key, value in delta.items() if value})
    recount.done_through = ids[-1] if ids else recount.done_through
    recount.recounted += recounted
    if len(ids) < batch:  # no one after these (up to `stop_at`)
        recount.finished_at = utcnow()
        versions.raise_versions(session, [versions.EVERYTHING])
    session.add(recount)
    session.flush()
    forget_counting_rules(session)
    return recount


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
    flags = len(_GROUP_FLAGS)
    for row in session.execute(learners, {"ids": ids}):
        level, commune, province, village = row[3 + flags :]
        person = _learner_facts(row[1], row[2], row[3 : 3 + flags], level)
        facts = [_certificate_facts(*columns) for columns in held[row[0]]]
        yield row[0], person, facts, _units(commune, province, village)


_LOCK_LEARNER = (
    sa.select(col(Learner.id), func.pg_advisory_xact_lock_shared(COUNTING_RULES_LOCK))
    .where(col(Learner.id) == bindparam("learner_id"))
    .with_for_update(of=Learner.__table__)  # type: ignore[attr-defined]
)


def lock_learner(session: Session, learner_id: uuid.UUID) -> None:
    """Serialize changes to one learner's counted records, and hold the counting rules still.

    On SQLite, where a write transaction already excludes every other, it only makes the rules
    be read again.
    """
    if session.get_bind().dialect.name == "postgresql":
        read_columns(session, _LOCK_LEARNER, {"learner_id": learner_id})
    forget_counting_rules(session)


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
