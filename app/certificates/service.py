"""Reading, verifying and revoking certificates."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.catalog.models import Program
from app.certificates import issuance
from app.certificates.credentials import CredentialSigner, mask_name
from app.certificates.models import Certificate, CertificateStatus, DeliveryStatus
from app.certificates.schemas import (
    CertificatePublic,
    DeliveryPublic,
    Verification,
    VerificationStatus,
)
from app.core.clock import local_date
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.core.pagination import paginate
from app.core.security import TokenError
from app.learners.models import Learner
from app.ledger import rules, totals


def program_title(session: Session, code: str) -> str:
    program = session.get(Program, code)
    return program.title_vi if program else code


def to_public(
    session: Session, certificate: Certificate, signer: CredentialSigner
) -> CertificatePublic:
    """The certificate as its holder and the staff in scope see it."""
    return CertificatePublic(
        id=certificate.id,
        learner_id=certificate.learner_id,
        program_code=certificate.program_code,
        program_title=program_title(session, certificate.program_code),
        holder_name=certificate.holder_name,
        issued_at=certificate.issued_at,
        attained_at=certificate.attained_at,
        status=certificate.status,
        revoked_at=certificate.revoked_at,
        revoked_reason=certificate.revoked_reason,
        reinstated_at=certificate.reinstated_at,
        credential=certificate.credential,
        kid=certificate.kid,
        verify_url=signer.verify_url(certificate),
        vneid=DeliveryPublic(
            status=certificate.vneid_status,
            receipt_id=certificate.vneid_receipt_id,
            delivered_at=certificate.vneid_delivered_at,
            attempts=certificate.delivery_attempts,
            next_attempt_at=certificate.next_delivery_at,
            last_error=certificate.last_delivery_error,
        ),
    )


def get_in_scope(
    session: Session, *, actor: Actor, certificate_id: uuid.UUID, action: str
) -> Certificate:
    """The certificate if it lies in the caller's scope; else 404."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("what.certificate")
    actor.require_in_scope(
        certificate.province_code,
        certificate.commune_code,
        what="what.certificate",
        action=action,
        target=certificate_id,
    )
    return certificate


def record_read(session: Session, *, actor: Actor, certificate: Certificate) -> None:
    """A read of one person's certificate leaves an audit event."""
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="certificate.read",
        target_type="certificate",
        target_id=certificate.id,
        province_code=certificate.province_code,
        commune_code=certificate.commune_code,
    )


def list_for_learner(
    session: Session, *, learner_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[Sequence[Certificate], str | None]:
    """One learner's certificates, revoked ones included."""
    statement = select(Certificate).where(Certificate.learner_id == learner_id)
    return paginate(
        session,
        statement,
        key_column=col(Certificate.id),
        key_of=lambda certificate: certificate.id,
        cursor=cursor,
        limit=limit,
        parse_key=uuid.UUID,
    )


def revoke(
    session: Session,
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    now: datetime | None = None,
) -> Certificate:
    """Revoke with a reason (commune admins and up); it stops counting in every indicator."""
    actor.require(
        Role.national_admin, Role.province_admin, Role.commune_admin, action="certificate.revoke"
    )
    if certificate.status == CertificateStatus.revoked.value:
        raise Conflict("certificate.already_revoked")
    learner = session.get(Learner, certificate.learner_id)
    assert learner is not None
    with totals.tracking(session, learner):
        issuance.mark_revoked(certificate, at=now or utcnow(), reason=reason, by_id=actor.user_id)
        session.add(certificate)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="certificate.revoke",
        target_type="certificate",
        target_id=certificate.id,
        province_code=certificate.province_code,
        commune_code=certificate.commune_code,
        detail={"program": certificate.program_code, "reason": reason},
    )
    return certificate


def reinstate(
    session: Session,
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    now: datetime | None = None,
) -> Certificate:
    """Undo a revocation made by mistake (commune admins and up): the certificate counts again
    from its attainment, as if never revoked, and VNeID is told again through the outbox.

    Refused while the learner holds another valid certificate of the program, or while their
    results no longer meet it (correct the results instead).
    """
    actor.require(
        Role.national_admin,
        Role.province_admin,
        Role.commune_admin,
        action="certificate.reinstate",
    )
    if certificate.status != CertificateStatus.revoked.value:
        raise Conflict("certificate.not_revoked")
    learner = session.get(Learner, certificate.learner_id)
    assert learner is not None
    if learner.erased_at is not None:
        raise Conflict("certificate.holder_erased")
    rules.lock_learner(session, learner.id)
    if certificate.program_code not in issuance.attained_programs(session, learner.id):
        raise Conflict("certificate.not_attained")
    other = session.exec(
        select(Certificate.id).where(
            Certificate.learner_id == learner.id,
            Certificate.program_code == certificate.program_code,
            Certificate.status == CertificateStatus.valid.value,
        )
    ).first()
    if other is not None:
        raise Conflict("certificate.superseded")
    moment = now or utcnow()
    previous = {
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "revoked_reason": certificate.revoked_reason,
    }
    with totals.tracking(session, learner):
        certificate.status = CertificateStatus.valid.value
        certificate.revoked_at = None
        certificate.revoked_reason = None
        certificate.revoked_by_id = None
        certificate.reinstated_at = moment
        # Delivered again: VNeID shows it as revoked, or never held it.
        certificate.vneid_status = DeliveryStatus.pending.value
        certificate.vneid_delivered_at = None
        certificate.vneid_receipt_id = None
        certificate.delivery_attempts = 0
        certificate.next_delivery_at = moment
        certificate.last_delivery_error = None
        signer = issuance.signer_of(session)
        if signer is not None:
            issuance.sign(session, certificate, signer)
        else:
            certificate.credential = None  # the outbox signs it
        session.add(certificate)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="certificate.reinstate",
        target_type="certificate",
        target_id=certificate.id,
        province_code=certificate.province_code,
        commune_code=certificate.commune_code,
        detail={"program": certificate.program_code, "reason": reason} | previous,
    )
    return certificate


def verification(
    session: Session, *, certificate_id: uuid.UUID, signer: CredentialSigner
) -> Verification:
    """What anyone may check about a certificate, with the holder's name partly hidden."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("what.certificate")
    signature_valid = False
    issuer = signer.base_url
    if certificate.credential:
        try:
            claims = signer.verify(certificate.credential)
            signature_valid = claims.get("jti") == f"urn:uuid:{certificate.id}"
            issuer = str(claims["iss"])
        except TokenError:
            signature_valid = False
    learner = session.get(Learner, certificate.learner_id)
    if learner is not None and learner.erased_at is not None:
        # The holder asked to be forgotten: nothing is left to show, nor to vouch for.
        status = VerificationStatus.erased
    elif certificate.status == CertificateStatus.revoked.value:
        status = VerificationStatus.revoked
    elif signature_valid:
        status = VerificationStatus.valid
    else:
        status = VerificationStatus.not_verified
    return Verification(
        id=certificate.id,
        status=status,
        valid=status == VerificationStatus.valid,
        signature_valid=signature_valid,
        program_code=certificate.program_code,
        program_title=program_title(session, certificate.program_code),
        issued_on=local_date(certificate.issued_at),
        attained_on=local_date(certificate.attained_at),
        holder_name=mask_name(certificate.holder_name),
        revoked_on=local_date(certificate.revoked_at) if certificate.revoked_at else None,
        issuer=issuer,
        kid=certificate.kid,
    )
