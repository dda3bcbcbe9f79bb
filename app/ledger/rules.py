"""The counting rules: which programs' certificates count for which group, and their lock."""

import uuid
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import bindparam, func
from sqlmodel import Session, col

from app.catalog.models import Program, ProgramCourse
from app.core.db import read_columns
from app.learners.models import Learner
from app.ledger.models import RulesRecount

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
