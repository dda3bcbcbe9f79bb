"""Recording audit events; nothing here updates or deletes one."""

from typing import Any, NotRequired, TypedDict, Unpack

import sqlalchemy as sa
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.core import bulk
from app.core.context import request_id_var
from app.core.db import utcnow

# Who did what no person did (seeding, a background recount).
SYSTEM_ACTOR_ID = "system"

_INSERT = sa.insert(AuditEvent.__table__)  # type: ignore[attr-defined]


class EventFields(TypedDict):
    """What a caller says about an audit event; the time and the request are added."""

    actor_id: str | None
    actor_role: str | None
    action: str
    outcome: NotRequired[str]
    target_type: NotRequired[str | None]
    target_id: NotRequired[object]
    province_code: NotRequired[str | None]
    commune_code: NotRequired[str | None]
    detail: NotRequired[dict[str, Any] | None]


def event(**fields: Unpack[EventFields]) -> dict[str, Any]:
    """An audit event's columns, stamped with the time and the request it belongs to."""
    target_id = fields.get("target_id")
    return {
        "at": utcnow(),
        "actor_id": fields["actor_id"],
        "actor_role": fields["actor_role"],
        "action": fields["action"],
        "outcome": fields.get("outcome", "success"),
        "target_type": fields.get("target_type"),
        "target_id": None if target_id is None else str(target_id),
        "province_code": fields.get("province_code"),
        "commune_code": fields.get("commune_code"),
        "request_id": request_id_var.get(),
        "detail": fields.get("detail"),
    }


def record(session: Session, **fields: Unpack[EventFields]) -> None:
    """Write one audit event (the fields of `event`) in the session's transaction.

    A plain INSERT, not an object for the ORM to flush: every write request records one, and
    the ORM's unit of work cost several times the statement.
    """
    record_event(session, event(**fields))


def record_event(session: Session, fields: dict[str, Any]) -> None:
    """Write one audit event, as `event` made it, in the session's transaction."""
    session.connection().execute(_INSERT, fields)


def record_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Write audit events, as `event` made them, with one multi-row INSERT."""
    bulk.insert_rows(session, AuditEvent.__table__, events)  # type: ignore[attr-defined]


# What a `for_each_row` statement returns for each event it writes.
TARGET_ID = AuditEvent.__table__.c.target_id  # type: ignore[attr-defined]
_BOUND: tuple[str, ...] = ("at", "actor_id", "actor_role", "action", "outcome", "target_type")
_BOUND += ("province_code", "commune_code", "request_id", "detail")
EVENT_PREFIX = "event_"


def for_each_row(target_id: sa.ColumnElement[Any]) -> sa.Insert:
    """An INSERT of one audit event for each row that `target_id` comes from: the RETURNING of
    a data-modifying CTE, so that the write and its event are one statement. The event's
    other columns are bound parameters, passed as `bound(event(...))`."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    source = sa.select(
        *(sa.bindparam(EVENT_PREFIX + name, type_=table.c[name].type) for name in _BOUND),
        sa.cast(target_id, table.c.target_id.type),
    )
    return sa.insert(table).from_select([*_BOUND, "target_id"], source)


def bound(fields: dict[str, Any]) -> dict[str, Any]:
    """An `event`'s columns as the parameters of a `for_each_row` statement."""
    return {EVENT_PREFIX + name: fields[name] for name in _BOUND}


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
