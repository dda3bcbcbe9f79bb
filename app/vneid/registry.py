"""Demonstration citizens for the mock VNeID's registry, added by a national admin."""

import uuid

from anyio import from_thread
from sqlmodel import Session

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden
from app.core.security import mask_citizen_id
from app.core.vneid_wire import mock_registry_key
from app.vneid.client import VneidClient
from app.vneid.schemas import DemoCitizen, DemoCitizenAdded


def add_demo_citizen(
    session: Session,
    *,
    actor: Actor,
    vneid: VneidClient,
    settings: Settings,
    data: DemoCitizen,
) -> DemoCitizenAdded:
    """Add a person to the mock VNeID over HTTP; national admins only, never in production."""
    if actor.role is not Role.national_admin:
        raise Forbidden(audit_action="vneid.citizen_add_denied")
    if settings.environment == "production":
        raise Forbidden("vneid.demo_only", audit_action="vneid.citizen_add_denied")
    person = {
        "citizen_id": data.citizen_id,
        "full_name": data.full_name,
        "birth_date": data.birth_date.isoformat(),
        "passcode": data.passcode,
    }
    key = mock_registry_key(settings)
    # So far the request's transaction has only read the caller's account. It ends before
    # the call: on SQLite the mounted mock writes to the same file and needs its write lock.
    session.rollback()
    handle = from_thread.run(lambda: vneid.add_demo_citizen(person, registry_key=key))
    if handle is None:
        raise Conflict("vneid.citizen_exists")
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="vneid.citizen_add",
        target_type="vneid_citizen",
        target_id=handle,
    )
    return DemoCitizenAdded(
        handle=uuid.UUID(handle),
        full_name=data.full_name,
        birth_date=data.birth_date,
        citizen_id_masked=mask_citizen_id(data.citizen_id[-4:]) or "",
    )
