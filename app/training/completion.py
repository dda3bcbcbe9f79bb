"""Recording a completion on the event loop, over PostgreSQL, in two round trips.

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

from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import Request
from sqlmodel import col

from app.accounts.deps import actor_from, actor_read_with
from app.catalog import service as catalog
from app.certificates import issuance
from app.certificates.models import Certificate, CertificateStatus
from app.core.db import utcnow
from app.core.direct import Direct, Transaction
from app.learners import service as learners
from app.learners.models import Learner
from app.training import service
from app.training.schemas import CompletionCreate

ACTION = "completion.create"

# The caller's account, and beside its columns the rule of the result's course, whether its
# client_id is already stored and every program's requirement: one statement.
_ACCOUNT_AND_RULES = actor_read_with(
    *service.COURSE_RULE_VALUES, service.CLIENT_ID_TAKEN, catalog.REQUIREMENTS_VALUE
)

# The learner's place, with their valid certificates' programs and attainment times (a JSON
# object, NULL when none), the row locked as `totals.lock_learner` locks it (not the counting
# rules: no total changes here).
_PLACE_AND_HELD = learners.PLACE.add_columns(
    sa.select(
        sa.func.json_object_agg(
            col(Certificate.program_code), col(Certificate.attained_at), type_=sa.JSON
        )
    )
    .where(
        col(Certificate.learner_id) == col(Learner.id),
        col(Certificate.status) == CertificateStatus.valid.value,
    )
    .scalar_subquery()
).with_for_update(of=Learner.__table__)  # type: ignore[attr-defined]


async def record_completion(
    direct: Direct, request: Request, user_id: int, data: CompletionCreate
) -> service.Recorded | None:
    """The completion recorded, or None when the session path must record it."""
    if data.class_id is not None:
        return None
    try:
        async with direct.transaction() as transaction:
            return await _record(transaction, request, user_id, data)
    except psycopg.OperationalError:
        # The connection dropped: nothing was committed, or this result was, and then the
        # session path finds it stored.
        await direct.dropped()
        return None


async def _record(
    transaction: Transaction, request: Request, user_id: int, data: CompletionCreate
) -> service.Recorded | None:
    reads = [
        _ACCOUNT_AND_RULES(user_id, {"code": data.course_code, "client_id": data.client_id}),
        (_PLACE_AND_HELD, {"learner_id": data.learner_id}),
        service.learner_completions_read(data.learner_id),
    ]
    account, place, stored = await transaction.run(*reads)
    actor = actor_from(request, [row[:-4] for row in account])  # 401 when there is no row
    pass_score, active, resent, requirements = account[0][-4:]
    learner = learners.place_from(place, actor=actor, learner_id=data.learner_id, action=ACTION)
    if resent:
        return None  # a resend: the session path answers with what is stored
    course = service.course_from_values(data.course_code, pass_score, active)
    new = service.candidate(actor, learner, course, data, utcnow())
    completions = service.learner_completions_from(stored)
    existing = next((c for c in completions if c.course_code == new.course_code), None)
    if existing is None:
        recorded = service.Recorded(new, "created")
        write = service.create_write(actor, new)
    else:
        better = service.improved(existing, new)
        if better is None:
            return service.Recorded(existing, "unchanged")
        recorded = service.Recorded(better, "updated")
        write = service.merge_write(actor, better)
    held: dict[str, str] = place[0][-1] or {}
    if new.passed and _changes_certificates(new, completions, held, requirements):
        return None
    if not await transaction.commit(write):
        return None  # stored or bettered meanwhile: not under the lock, but the session path copes
    return recorded


def _changes_certificates(
    new: service.StoredCompletion,
    completions: list[service.StoredCompletion],
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
