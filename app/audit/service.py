"""Recording audit events; nothing here updates or deletes one."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.core.context import request_id_var
from app.core.db import utcnow

# Who did what no person did (seeding, a background recount).
SYSTEM_ACTOR_ID = "system"

_INSERT = sa.insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def record(
    session: Session,
    *,
    actor_id: str | None,
    actor_role: str | None,
    action: str,
    outcome: str = "success",
    target_type: str | None = None,
    target_id: object = None,
    province_code: str | None = None,
    commune_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit event in the session's transaction.

    A plain INSERT, not an object for the ORM to flush: every write request records one, and
    the ORM's unit of work cost several times the statement.
    """
    session.connection().execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor_id": actor_id,
            "actor_role": actor_role,
            "action": action,
            "outcome": outcome,
            "target_type": target_type,
            "target_id": None if target_id is None else str(target_id),
            "province_code": province_code,
            "commune_code": commune_code,
            "request_id": request_id_var.get(),
            "detail": detail,
        },
    )


def record_denial(
    session: Session,
    *,
    actor_id: str | None,
    actor_role: str | None,
    action: str,
    target_id: str | None,
    commune_code: str | None,
    status: int,
) -> None:
    """Record a refused request, in a transaction of its own (the request's was rolled back)."""
    record(
        session,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        outcome="denied",
        target_id=target_id,
        commune_code=commune_code,
        detail={"status": status},
    )
    session.commit()
