"""Recording the completions of an import, each row as `POST /completions` would.

A row names its learner by personal ID number (or learner id). Each row goes through
`record_completion` in a savepoint of its own, so a learner keeps their best result per
course, certificates are issued in the same transaction, and sending the file again stores
nothing twice (one row per learner and course).
"""

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.core.errors import DomainError, NotFound
from app.imports import columns
from app.imports.context import ChunkOutcome, ImportContext, SourceRow, row_problem
from app.learners.models import Learner
from app.ledger import totals
from app.training import service as training
from app.training.schemas import CompletionCreate


def payload(row: SourceRow, learner_id: uuid.UUID | None) -> dict[str, Any]:
    """The row as the body `POST /completions` would take."""
    f = row.fields
    body = {
        "learner_id": learner_id,
        "course_code": columns.text(f.get("course_code")),
        "completed_at": columns.moment(f.get("completed_at")),
        "score": columns.number(f.get("score")),
        "method": columns.choice(f.get("method"), columns.METHODS),
        "class_id": columns.text(f.get("class_id")),
    }
    return {k: v for k, v in body.items() if v is not None}


def store_chunk(session: Session, ctx: ImportContext, rows: list[SourceRow]) -> ChunkOutcome:
    """Record the chunk's completions one by one; a refused row never undoes the others."""
    outcome = ChunkOutcome()
    by_digest = _learners_by_id_number(session, ctx, rows)
    # The chunk's running totals are stored once, at its end (see `held_back`).
    with totals.held_back(session):
        for row in sorted(rows, key=_lock_order(ctx, by_digest)):
            _store_row(session, ctx, row, by_digest, outcome)
    return outcome


def _store_row(
    session: Session,
    ctx: ImportContext,
    row: SourceRow,
    by_digest: dict[str, uuid.UUID],
    outcome: ChunkOutcome,
) -> None:
    """One row, as `POST /completions` would record it, in a savepoint of its own."""
    try:
        learner_id = _learner_of(row, ctx, by_digest)
        data = CompletionCreate.model_validate(payload(row, learner_id))
    except ValidationError as exc:
        outcome.reject(row, row_problem(exc))
        return
    except DomainError as exc:
        outcome.reject(row, exc)
        return
    try:
        with totals.held_back(session), session.begin_nested():
            recorded = training.record_completion(session, actor=ctx.actor, data=data)
    except DomainError as exc:
        outcome.reject(row, exc)
        return
    if recorded.outcome == "unchanged":
        outcome.duplicate += 1
    else:
        outcome.stored += 1


def _learners_by_id_number(
    session: Session, ctx: ImportContext, rows: list[SourceRow]
) -> dict[str, uuid.UUID]:
    digests = {
        ctx.personal_ids.blind_index(number)
        for row in rows
        if (number := columns.citizen_id(row.fields.get("citizen_id")))
    }
    if not digests:
        return {}
    statement = select(Learner.citizen_id_hash, Learner.id).where(
        col(Learner.citizen_id_hash).in_(digests)
    )
    return {h: i for h, i in session.exec(statement).all() if h is not None}


def _lock_order(
    ctx: ImportContext, by_digest: dict[str, uuid.UUID]
) -> Callable[[SourceRow], tuple[str, str]]:
    """Rows in the order every import and every phone's batch stores them: by learner, then
    course. Two imports over the same people then take each person's locks in the same order,
    and one waits for the other instead of each holding what the other needs. Rows of one
    learner and course keep their order in the file."""

    def key(row: SourceRow) -> tuple[str, str]:
        try:
            learner = _learner_of(row, ctx, by_digest)
        except NotFound:
            learner = None
        return (str(learner or ""), str(row.fields.get("course_code") or ""))

    return key


def _learner_of(
    row: SourceRow, ctx: ImportContext, by_digest: dict[str, uuid.UUID]
) -> uuid.UUID | None:
    number = columns.citizen_id(row.fields.get("citizen_id"))
    if number is not None:
        found = by_digest.get(ctx.personal_ids.blind_index(number))
        if found is None:
            raise NotFound("what.learner")
        return found
    raw = columns.text(row.fields.get("learner_id"))
    if raw is None:
        return None  # the schema reports the missing learner
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("what.learner") from None
