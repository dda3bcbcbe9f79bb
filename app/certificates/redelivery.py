"""What an operator sees of deliveries to VNeID, and sending them again after a fix."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, and_, col, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.certificates.models import Certificate, CertificateStatus, DeliveryStatus
from app.core.errors import Conflict
from app.core.pagination import paginate
from app.learners.models import Learner

ADMINS = (Role.national_admin, Role.province_admin, Role.commune_admin)
# More than this many at once is done in several calls (each answers how many it took).
REDELIVER_AT_ONCE = 5000


class DeliveryState(StrEnum):
    pending = "pending"
    rejected = "rejected"
    withdrawing = "withdrawing"
    # Pending or withdrawing, and still waiting past the threshold.
    stuck = "stuck"


def _waiting() -> ColumnElement[bool]:
    return or_(
        and_(
            col(Certificate.vneid_status) == DeliveryStatus.pending.value,
            col(Certificate.status) == CertificateStatus.valid.value,
        ),
        col(Certificate.vneid_status) == DeliveryStatus.withdrawing.value,
    )


def _in_state(state: DeliveryState, *, now: datetime, stuck_after: timedelta) -> Any:
    if state == DeliveryState.pending:
        return and_(
            col(Certificate.vneid_status) == DeliveryStatus.pending.value,
            col(Certificate.status) == CertificateStatus.valid.value,
        )
    if state == DeliveryState.rejected:
        return col(Certificate.vneid_status) == DeliveryStatus.rejected.value
    if state == DeliveryState.withdrawing:
        return col(Certificate.vneid_status) == DeliveryStatus.withdrawing.value
    cutoff = now - stuck_after
    return and_(
        _waiting(),
        or_(
            and_(
                col(Certificate.vneid_status) == DeliveryStatus.pending.value,
                col(Certificate.issued_at) <= cutoff,
            ),
            and_(
                col(Certificate.vneid_status) == DeliveryStatus.withdrawing.value,
                col(Certificate.revoked_at) <= cutoff,
            ),
        ),
    )


def list_deliveries(
    session: Session,
    *,
    actor: Actor,
    state: DeliveryState,
    now: datetime,
    stuck_after: timedelta,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Certificate], str | None]:
    """Certificates in the caller's scope whose delivery is in `state`, with VNeID's reasons."""
    actor.require(*ADMINS, action="delivery.list")
    statement = select(Certificate).where(
        actor.scope_clause(Certificate.province_code, Certificate.commune_code),
        _in_state(state, now=now, stuck_after=stuck_after),
    )
    return paginate(
        session,
        statement,
        key_column=col(Certificate.id),
        key_of=lambda certificate: certificate.id,
        cursor=cursor,
        limit=limit,
        parse_key=uuid.UUID,
    )


def _why_not(session: Session, certificate: Certificate) -> str | None:
    if certificate.status == CertificateStatus.revoked.value:
        return "delivery.reason.revoked"
    learner = session.get(Learner, certificate.learner_id)
    if learner is None or learner.erased_at is not None:
        return "delivery.reason.erased"
    if certificate.vneid_status == DeliveryStatus.delivered.value:
        return "delivery.reason.delivered"
    return None


def _send_again(session: Session, *, actor: Actor, certificate: Certificate, now: datetime) -> None:
    previous = {"status": certificate.vneid_status, "error": certificate.last_delivery_error}
    if certificate.vneid_status != DeliveryStatus.withdrawing.value:
        certificate.vneid_status = DeliveryStatus.pending.value
    certificate.next_delivery_at = now
    session.add(certificate)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="certificate.redeliver",
        target_type="certificate",
        target_id=certificate.id,
        province_code=certificate.province_code,
        commune_code=certificate.commune_code,
        detail={"previous": previous},
    )


def redeliver(
    session: Session, *, actor: Actor, certificate: Certificate, now: datetime
) -> Certificate:
    """Send one certificate (or its withdrawal) to VNeID again now, after a fix; audited.

    A rejected one goes back to pending; a waiting one is tried now instead of after its backoff.
    """
    actor.require(*ADMINS, action="certificate.redeliver")
    reason = _why_not(session, certificate)
    if reason is not None:
        raise Conflict("delivery.not_redeliverable", reason=reason)
    _send_again(session, actor=actor, certificate=certificate, now=now)
    session.flush()
    return certificate


def redeliver_all(
    session: Session,
    *,
    actor: Actor,
    state: DeliveryState,
    now: datetime,
    stuck_after: timedelta,
) -> int:
    """Send again every certificate in `state` in the caller's scope; how many were taken.

    Those that cannot go (the holder was erased) are left as they are.
    """
    actor.require(*ADMINS, action="certificate.redeliver")
    statement = (
        select(Certificate)
        .join(Learner, col(Learner.id) == col(Certificate.learner_id))
        .where(
            actor.scope_clause(Certificate.province_code, Certificate.commune_code),
            _in_state(state, now=now, stuck_after=stuck_after),
            col(Certificate.status) == CertificateStatus.valid.value,
            col(Learner.erased_at).is_(None),
        )
        .order_by(col(Certificate.id))
        .limit(REDELIVER_AT_ONCE)
    )
    certificates = session.exec(statement).all()
    for certificate in certificates:
        _send_again(session, actor=actor, certificate=certificate, now=now)
    session.flush()
    return len(certificates)
