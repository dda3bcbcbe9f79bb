"""Writes an audit event for every refused request."""

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit.service import record_denial
from app.core.errors import DomainError


async def record_request_denial(request: Request, exc: DomainError) -> None:
    """Called by the problem handler for errors that carry an audit action."""
    actor = getattr(request.state, "actor", None)
    action = exc.audit_action or "unknown"

    def write() -> None:
        with Session(request.app.state.engine) as session:
            record_denial(
                session,
                actor_id=getattr(actor, "audit_id", None),
                actor_role=getattr(actor, "role", None),
                action=action,
                target_id=exc.audit_target,
                commune_code=exc.audit_commune,
                status=exc.status,
            )

    await run_in_threadpool(write)
