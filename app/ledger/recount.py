"""The recount after a change to the counting rules: a batch of people per transaction.

A program edit that changes which certificates meet a group's standard records what it moves
(`schedule_recount`), recounts the first batch itself (`recount_step`) and answers. The rest
runs after it, in the service's own background task and from `hocvuso stats-recount`; each
batch is one transaction that holds the counting rules' lock, so writes wait one batch at
most, and a recount interrupted anywhere (a restart) goes on from its last committed batch.
Until it finishes, each learner is counted by the rules the recount has reached it with (see
`RulesRecount`), so every figure stays exact for the rules each learner is counted by, and
`stats-rebuild` agrees with the totals.
"""

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.audit import service as audit
from app.certificates.models import Certificate
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import read_bind, utcnow, write_bind
from app.core.logs import without_message
from app.core.problems import is_transient
from app.learners.models import Group
from app.ledger import versions
from app.ledger.contributions import contributions
from app.ledger.models import RulesRecount
from app.ledger.rules import (
    PendingRecount,
    Rules,
    forget_counting_rules,
    hold_counting_rules,
    pending_recount,
    recount_pending,
    rules_to_json,
)
from app.ledger.totals import GROUP_FLAGS, RowKey, adult_age, apply, counted_people, spread

logger = logging.getLogger(__name__)

RECOUNT_BATCH = 2_000  # people recounted in one transaction, while writes wait


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
        *(sa.true() if group == Group.citizen.value else GROUP_FLAGS[group] for group in groups)
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


def recount_batch(
    engine: Engine, *, adult_age: int, batch: int | None = None
) -> RulesRecount | None:
    """Recount one batch of the pending change and commit; None when nothing is pending.

    The recount's last batch (fewer people than a batch holds) marks it finished and records
    the audit event.
    A look that finds nothing pending takes no lock: the background task looks every few
    seconds, and writes must not wait for that.
    """
    with Session(read_bind(engine)) as session:
        if not recount_pending(session):
            return None
    with Session(write_bind(engine), expire_on_commit=False) as session:
        bind_context(session, WriteContext(adult_age))
        recount = recount_step(session, batch)
        if recount is None:
            session.rollback()
            return None
        if recount.finished_at is not None:
            audit.record(
                session,
                actor_id=audit.SYSTEM_ACTOR_ID,
                actor_role=None,
                action="stats.recount",
                target_type="program",
                target_id=recount.program_code,
                detail={"recount_id": recount.id, "recounted_learners": recount.recounted},
            )
        session.commit()
    if recount.finished_at is not None:
        tidy_totals(engine)
    return recount


def tidy_totals(engine: Engine) -> None:
    """Vacuum the running totals after a recount (PostgreSQL).

    A recount rewrites millions of total rows (24 million row versions for 3.5 million people
    on the benchmark's database); until the dead ones are vacuumed, reading a unit's totals
    visits the table instead of its index alone (the nation's figures took three times as long
    there, with autovacuum off). Autovacuum, if it is on, comes to it after a while; this takes
    seconds and blocks no read or write.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) stat_total")


def run_to_end(engine: Engine, *, adult_age: int, batch: int | None = None) -> RulesRecount | None:
    """Run the pending recount, if any, until it finishes, and return it."""
    while True:
        recount = recount_batch(engine, adult_age=adult_age, batch=batch)
        if recount is None or recount.finished_at is not None:
            return recount


async def run_worker(engine: Engine, settings: Settings) -> None:
    """Look for a pending recount every so often and run it, a batch per thread hand-over, so
    that stopping the service waits for one batch at most."""
    while True:
        try:
            while True:
                recount = await asyncio.to_thread(
                    recount_batch, engine, adult_age=settings.adult_age
                )
                if recount is None:
                    break
                if recount.finished_at is not None:
                    logger.info("recount %s finished: %s people", recount.id, recount.recounted)
        except Exception as exc:
            # A clash with a concurrent write (a deadlock) is retried at the next look.
            log = logger.warning if is_transient(exc) else logger.error
            log("recount batch failed: %s", without_message(exc))
        await asyncio.sleep(settings.recount_poll_seconds)
