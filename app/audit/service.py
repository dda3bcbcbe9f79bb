"""Recording audit events; nothing here updates or deletes one."""

from typing import Any

from sqlmodel import Session

from app.audit.models import AuditEvent
from app.core.context import request_id_var


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
) -> AuditEvent:
    """Add one audit event to the session's transaction."""
    event = AuditEvent(
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        province_code=province_code,
        commune_code=commune_code,
        request_id=request_id_var.get(),
        detail=detail,
    )
    session.add(event)
    return event


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
