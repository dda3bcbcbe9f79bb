"""What became of each record of a phone's batch."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.accounts.actor import Actor
from app.audit import service as audit
from app.core.errors import DomainError
from app.sync import problems
from app.sync.schemas import RecordKind, RecordStatus


@dataclass(frozen=True)
class Outcome:
    """What became of one record: its status, the stored id, or why it was refused."""

    kind: RecordKind
    index: int
    client_id: uuid.UUID | None
    status: RecordStatus
    id: uuid.UUID | None = None
    problem: problems.ProblemData | None = None


def client_id_of(raw: dict[str, Any]) -> uuid.UUID | None:
    """The record's client_id when it is a readable UUID (to label its result)."""
    return as_uuid(raw.get("client_id"))


def as_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def rejected(
    session: Session,
    actor: Actor,
    kind: RecordKind,
    index: int,
    client_id: uuid.UUID | None,
    error: DomainError,
) -> Outcome:
    if error.audit_action:
        # The request succeeds, so the refused record is audited in its transaction.
        audit.record(
            session,
            actor_id=actor.audit_id,
            actor_role=actor.role,
            action=error.audit_action,
            outcome="denied",
            target_type=kind,
            target_id=error.audit_target,
            commune_code=error.audit_commune,
            detail={"status": error.status, "client_id": str(client_id) if client_id else None},
        )
    return Outcome(kind, index, client_id, "rejected", problem=problems.from_error(error))
