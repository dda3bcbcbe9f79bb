"""Recording a completion: the one entry (`record`) the API calls, and its pipelined path.

On PostgreSQL a result goes first through the pipelined path, on the event loop, in two round
trips; what that path does not handle goes through the session path
(`service.record_completion`, which attendance, imports and phones' batches call too). Both
paths read and write with the statements of `queries` and decide with `service.decide`.

A completion is the busiest write of all. The common case (a new result, or one that beats
or loses to the stored one, with nothing to issue) needs no session and no worker thread: a
transaction locks the learner and makes every read `service.record_completion` makes in one
round trip, then writes the result with its audit event and commits in a second. The lock is
the one every writer of a learner's completions takes before it reads them (the session path
too), so whether a result completes a program is decided on all the results stored before it:
two results that together complete a program, sent at the same moment, issue the
certificate. What this path does not handle (a class, a resent client_id, a certificate to
issue, a dropped connection) it hands to the session path, having written nothing; every
problem it finds it answers as the session path would.
"""

import uuid
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col

from app.accounts.actor import Actor
from app.accounts.deps import actor_from, as_caller
from app.catalog import service as catalog
from app.certificates import issuance
from app.core.db import utcnow
from app.core.direct import DirectRunner, Transaction, direct_of
from app.core.problems import is_transient
from app.learners import service as learners
from app.training import queries, service
from app.training.models import Completion
from app.training.queries import StoredCompletion
from app.training.schemas import CompletionCreate

ACTION = "completion.create"


async def record(request: Request, user_id: int, data: CompletionCreate) -> service.Recorded:
    """Record the caller's result: on the pipelined path when it can, else in a session."""
    direct = direct_of(request)
    recorded = await _pipelined(direct, request, user_id, data) if direct.on_loop else None
    if recorded is None:
        recorded = await _in_session(request, user_id, data)
    return recorded


async def _in_session(request: Request, caller: int, data: CompletionCreate) -> service.Recorded:
    """The completion recorded in a session; a new one whose commit went unanswered (the
    connection dropped) but is stored after all is answered as created."""
    attempt: list[service.Recorded] = []

    def work(session: Session, actor: Actor) -> service.Recorded:
        attempt.append(service.record_completion(session, actor=actor, data=data))
        return attempt[-1]

    try:
        return await as_caller(request, caller, work)
    except Exception as exc:
        if not (attempt and attempt[-1].outcome == "created" and is_transient(exc)):
            raise
        recorded = attempt[-1]
        if not await run_in_threadpool(_stored, request, recorded.completion.id):
            raise
        return recorded


def _stored(request: Request, completion_id: uuid.UUID) -> bool:
    with Session(request.app.state.engine) as session:
        return session.get(Completion, completion_id) is not None


async def _pipelined(
    direct: DirectRunner, request: Request, user_id: int, data: CompletionCreate
) -> service.Recorded | None:
    """The completion recorded, or None when the session path must record it."""
    if data.class_id is not None:
        return None
    try:
        async with direct.transaction() as transaction:
            return await _record(transaction, request, user_id, data)
    except _CommitUnknown as unknown:
        # The connection dropped while the commit was on its way: if the new result is
        # stored, it was created by this request, and the answer says so.
        await direct.dropped()
        return unknown.recorded if await _created(direct, unknown.recorded) else None
    except psycopg.OperationalError:
        # The connection dropped: nothing was committed, or this result was, and then the
        # session path finds it stored.
        await direct.dropped()
        return None


async def _record(
    transaction: Transaction, request: Request, user_id: int, data: CompletionCreate
) -> service.Recorded | None:
    reads = [
        queries.ACCOUNT_AND_RULES(user_id, {"code": data.course_code, "client_id": data.client_id}),
        (queries.PLACE_AND_HELD, {"learner_id": data.learner_id}),
        queries.learner_completions_read(data.learner_id),
    ]
    account, place, stored = await transaction.run(*reads)
    actor = actor_from(request, [row[:-4] for row in account])  # 401 when there is no row
    pass_score, active, resent, requirements = account[0][-4:]
    learner = learners.place_from(place, actor=actor, learner_id=data.learner_id, action=ACTION)
    if resent:
        return None  # a resend: the session path answers with what is stored
    course = queries.course_from_values(data.course_code, pass_score, active)
    new = service.candidate(actor, learner, course, data, utcnow())
    completions = queries.learner_completions_from(stored)
    existing = next((c for c in completions if c.course_code == new.course_code), None)
    recorded = service.decide(existing, new)
    if recorded.outcome == "unchanged":
        return recorded
    held: dict[str, str] = place[0][-1] or {}
    if recorded.may_issue and _changes_certificates(new, completions, held, requirements):
        return None
    assert isinstance(recorded.completion, StoredCompletion)
    write = (queries.create_write if existing is None else queries.merge_write)(
        actor, recorded.completion
    )
    try:
        committed = await transaction.commit(write)
    except psycopg.OperationalError as exc:
        raise _CommitUnknown(recorded) from exc
    if not committed:
        return None  # stored or bettered meanwhile: not under the lock, but the session path copes
    return recorded


class _CommitUnknown(Exception):
    """The connection dropped during the commit of `recorded`: it may or may not be stored."""

    def __init__(self, recorded: service.Recorded) -> None:
        super().__init__()
        self.recorded = recorded


_STORED = sa.select(col(Completion.id)).where(col(Completion.id) == sa.bindparam("id"))


async def _created(direct: DirectRunner, recorded: service.Recorded) -> bool:
    """Whether `recorded`, a new result whose commit went unanswered, is stored after all."""
    if recorded.outcome != "created":
        return False  # a merge is answered alike whether it was stored or is made again
    [rows] = await direct.run((_STORED, {"id": recorded.completion.id}))
    return bool(rows)


def _changes_certificates(
    new: StoredCompletion,
    completions: list[StoredCompletion],
    held: dict[str, str],
    requirements: list[list[Any]] | None,
) -> bool:
    """Whether this passed result may change the learner's certificates: it completes a
    program they hold no valid certificate of, or it dates one they hold earlier (a result
    entered late). The session path works out what exactly."""
    passed = {c.course_code: c.score for c in completions if c.passed}
    passed[new.course_code] = new.score
    programs = catalog.requirements_from(requirements)
    attained = issuance.attained_from(passed, programs)
    if set(attained) - held.keys():
        return True
    return any(
        new.course_code in programs[code].courses
        and new.completed_at < datetime.fromisoformat(attained_at)
        for code, attained_at in held.items()
        if code in programs
    )
