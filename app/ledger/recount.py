"""The recount after a change to the counting rules: a batch of people per transaction.

A program edit that changes which certificates meet a group's standard records what it moves
(`totals.schedule_recount`), recounts the first batch itself and answers. The rest runs after
it, in the service's own background task and from `hocvuso stats-recount`; each batch is one
transaction that holds the counting rules' lock, so writes wait one batch at most, and a
recount interrupted anywhere (a restart) goes on from its last committed batch. Until it
finishes, each learner is counted by the rules the recount has reached it with (see
`RulesRecount`), so every figure stays exact for the rules each learner is counted by, and
`stats-rebuild` agrees with the totals.
"""

import asyncio
import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit import service as audit
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import read_bind, write_bind
from app.core.logs import without_message
from app.core.problems import is_transient
from app.ledger import totals
from app.ledger.models import RulesRecount

logger = logging.getLogger(__name__)


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
        if not totals.recount_pending(session):
            return None
    with Session(write_bind(engine), expire_on_commit=False) as session:
        bind_context(session, WriteContext(adult_age))
        recount = totals.recount_step(session, batch)
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
