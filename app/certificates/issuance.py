"""Issuing certificates when a learner attains a program, in the completion's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.catalog import service as catalog
from app.catalog.models import Program
from app.catalog.service import Requirement
from app.certificates.credentials import CredentialSigner
from app.certificates.models import Certificate, CertificateStatus, DeliveryStatus
from app.core.context import write_context
from app.core.db import read_columns, utcnow
from app.learners.models import Learner
from app.ledger import totals
from app.training.models import Completion

_PASSED_RESULTS = select(
    col(Completion.course_code),
    col(Completion.score),
    col(Completion.completed_at),
    col(Completion.updated_at),
).where(col(Completion.learner_id) == bindparam("learner_id"), col(Completion.passed))


@dataclass(frozen=True)
class Attained:
    """A program the learner's passed results meet: when the last of its required courses was
    completed, and when the latest of them was recorded."""

    at: datetime
    recorded_at: datetime


def attained_from(scores: dict[str, float], requirements: dict[str, Requirement]) -> list[str]:
    """Active programs whose every required course was passed at the program's score."""
    return sorted(
        code
        for code, program in requirements.items()
        if program.active
        and program.courses
        and all(scores.get(course, -1) >= score for course, score in program.courses.items())
    )


def attained_programs(session: Session, learner_id: uuid.UUID) -> dict[str, Attained]:
    """Active programs whose every required course the learner passed at the program's score,
    each with when it was attained."""
    results = {
        course: (score, completed_at, updated_at)
        for course, score, completed_at, updated_at in read_columns(
            session, _PASSED_RESULTS, {"learner_id": learner_id}
        )
    }
    requirements = catalog.requirements(session)
    scores = {course: score for course, (score, _, _) in results.items()}
    attained = {}
    for code in attained_from(scores, requirements):
        required = [results[course] for course in requirements[code].courses]
        attained[code] = Attained(
            at=max(completed_at for _, completed_at, _ in required),
            recorded_at=max(updated_at for _, _, updated_at in required),
        )
    return attained


def signer_of(session: Session) -> CredentialSigner | None:
    """The credential signer in the session's `WriteContext`, if any."""
    signer = write_context(session).signer
    return signer if isinstance(signer, CredentialSigner) else None


def sign(session: Session, certificate: Certificate, signer: CredentialSigner) -> None:
    """Sign a certificate's credential (its program's title is part of it)."""
    program = session.get(Program, certificate.program_code)
    assert program is not None
    signer.sign(certificate, program)


def forget_holder(session: Session, *, learner: Learner) -> None:
    """On erasure, drop the name from the person's certificates and their credentials.

    Status and dates stay, so the certificates keep counting; one not yet delivered never will
    be, since there is no one left to deliver it to.
    """
    for certificate in session.exec(
        select(Certificate).where(Certificate.learner_id == learner.id)
    ).all():
        certificate.holder_name = ""
        certificate.credential = None
        if certificate.vneid_status == DeliveryStatus.pending.value:
            certificate.vneid_status = DeliveryStatus.rejected.value
            certificate.next_delivery_at = None
            certificate.last_delivery_error = "holder erased"
        session.add(certificate)
    session.flush()


def mark_revoked(certificate: Certificate, *, at: datetime, reason: str, by_id: int | None) -> None:
    """Revoke a certificate and, if VNeID holds it (or may), queue its withdrawal there."""
    certificate.status = CertificateStatus.revoked.value
    certificate.revoked_at = at
    certificate.revoked_reason = reason
    certificate.revoked_by_id = by_id
    if certificate.vneid_status == DeliveryStatus.delivered.value or (
        certificate.vneid_status == DeliveryStatus.pending.value
        and certificate.delivery_attempts > 0
    ):
        # VNeID holds it (or may: an attempt was made), so it must show it as revoked.
        certificate.vneid_status = DeliveryStatus.withdrawing.value
        certificate.next_delivery_at = at
    elif certificate.vneid_status == DeliveryStatus.pending.value:
        # Never sent: VNeID never needs to hear of it.
        certificate.vneid_status = DeliveryStatus.withdrawn.value
        certificate.next_delivery_at = None


def _met_again(attained: Attained, revoked: list[Certificate]) -> bool:
    """Whether results recorded after the program's last revocation meet it: a revocation
    stands against the results it was made over, not against new or corrected ones."""
    last = max((c.revoked_at for c in revoked if c.revoked_at is not None), default=None)
    return last is None or attained.recorded_at > last


def issue_attained(
    session: Session,
    *,
    learner_id: uuid.UUID,
    actor_id: str | None,
    actor_role: str | None,
    now: datetime | None = None,
    correction: str | None = None,
    revoked_by_id: int | None = None,
) -> list[Certificate]:
    """Bring the learner's certificates in line with their results; returns those issued.

    Each program the learner attains and holds no valid certificate of is issued one, dated
    by its attainment (when the last required course was completed); a revoked certificate
    is not issued again unless results recorded after its revocation meet the program. A
    valid certificate whose program was met earlier than it says (a result entered late) is
    dated earlier. With `correction` (a result corrected or withdrawn, and why), a valid
    certificate whose program is no longer met is revoked with that reason, and one still met
    is dated by the results as they now stand. The unique valid (learner, program) pair makes
    a concurrent issue of the same certificate a no-op. Each is signed at once when the
    session carries a signer (else the delivery outbox signs it) and is due for delivery.

    The caller holds the learner's lock (`rules.lock_learner`), taken before it read or wrote
    the learner's results: so what is read here, and what the totals hold for this learner,
    cannot drift apart under a concurrent result, issue or revocation.
    """
    attained = attained_programs(session, learner_id)
    if not attained and correction is None:
        return []
    held = list(session.exec(select(Certificate).where(Certificate.learner_id == learner_id)).all())
    valid = {c.program_code: c for c in held if c.status == CertificateStatus.valid.value}
    missing = [
        code
        for code, attainment in attained.items()
        if code not in valid and _met_again(attainment, [c for c in held if c.program_code == code])
    ]
    moment = now or utcnow()
    redated: list[tuple[Certificate, datetime]] = []
    revoked: list[Certificate] = []
    for code, certificate in valid.items():
        attainment = attained.get(code)
        if attainment is None:
            if correction is not None:
                revoked.append(certificate)
        elif attainment.at < certificate.attained_at or (
            correction is not None and attainment.at != certificate.attained_at
        ):
            redated.append((certificate, attainment.at))
    if not (missing or redated or revoked):
        return []
    learner = session.get(Learner, learner_id)
    assert learner is not None
    before = [totals.certificate_facts(c) for c in held]
    for certificate, attained_at in redated:
        _audit(
            session,
            certificate,
            actor_id,
            actor_role,
            "certificate.redate",
            {"from": certificate.attained_at.isoformat(), "to": attained_at.isoformat()}
            | ({"reason": correction} if correction else {}),
        )
        certificate.attained_at = attained_at
        session.add(certificate)
    for certificate in revoked:
        assert correction is not None
        mark_revoked(certificate, at=moment, reason=correction, by_id=revoked_by_id)
        session.add(certificate)
        _audit(
            session, certificate, actor_id, actor_role, "certificate.revoke", {"reason": correction}
        )
    issued = _issue(session, learner, [(code, attained[code]) for code in missing], moment)
    for certificate in issued:
        _audit(session, certificate, actor_id, actor_role, "certificate.issue", {})
    session.flush()
    totals.facts_changed(
        session,
        learner,
        before=before,
        after=[totals.certificate_facts(c) for c in held + issued],
    )
    return issued


def _issue(
    session: Session, learner: Learner, programs: list[tuple[str, Attained]], moment: datetime
) -> list[Certificate]:
    issued: list[Certificate] = []
    signer = signer_of(session)
    for program_code, attainment in programs:
        certificate = Certificate(
            learner_id=learner.id,
            province_code=learner.province_code,
            commune_code=learner.commune_code,
            program_code=program_code,
            issued_at=moment,
            attained_at=attainment.at,
            holder_name=learner.full_name,
            next_delivery_at=moment,
        )
        if signer is not None:
            # Signed before it is stored, so it is written once.
            sign(session, certificate, signer)
        try:
            with session.begin_nested():
                session.add(certificate)
                session.flush()
        except IntegrityError:
            continue
        issued.append(certificate)
    return issued


def _audit(
    session: Session,
    certificate: Certificate,
    actor_id: str | None,
    actor_role: str | None,
    action: str,
    detail: dict[str, str],
) -> None:
    audit.record(
        session,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        target_type="certificate",
        target_id=certificate.id,
        province_code=certificate.province_code,
        commune_code=certificate.commune_code,
        detail={"program": certificate.program_code} | detail,
    )
