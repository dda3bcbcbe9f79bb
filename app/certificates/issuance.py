"""Issuing certificates when a learner attains a program, in the completion's transaction."""

import uuid
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.catalog import service as catalog
from app.catalog.models import Program
from app.catalog.service import Requirement
from app.certificates.credentials import CredentialSigner
from app.certificates.models import Certificate, DeliveryStatus
from app.core.db import read_columns, utcnow
from app.core.direct import Query
from app.learners.models import Learner
from app.stats import totals
from app.training.models import Completion

_PASSED_SCORES = select(col(Completion.course_code), col(Completion.score)).where(
    col(Completion.learner_id) == bindparam("learner_id"), col(Completion.passed)
)


def scores_read(learner_id: uuid.UUID) -> Query:
    """The learner's passed courses and their scores."""
    return _PASSED_SCORES, {"learner_id": learner_id}


def attained_from(scores: dict[str, float], requirements: dict[str, Requirement]) -> list[str]:
    """Active programs whose every required course was passed at the program's score."""
    return sorted(
        code
        for code, program in requirements.items()
        if program.active
        and program.courses
        and all(scores.get(course, -1) >= score for course, score in program.courses.items())
    )


def attained_programs(session: Session, learner_id: uuid.UUID) -> list[str]:
    """Active programs whose every required course the learner passed at the program's score."""
    scores: dict[str, float] = dict(read_columns(session, *scores_read(learner_id)))
    return attained_from(scores, catalog.requirements(session))


SIGNER_KEY = "credential_signer"


def signer_of(session: Session) -> CredentialSigner | None:
    """The credential signer handed to the session by whoever opened it, if any."""
    signer = session.info.get(SIGNER_KEY)
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


def issue_attained(
    session: Session,
    *,
    learner_id: uuid.UUID,
    actor_id: str | None,
    actor_role: str | None,
    now: datetime | None = None,
) -> list[Certificate]:
    """Issue a certificate for each program the learner attains and never held.

    A revoked certificate is kept and not issued again; the unique (learner, program) pair
    makes a concurrent issue of the same certificate a no-op. Each is signed at once when the
    session carries a signer (else the delivery outbox signs it) and is due for delivery.

    The caller holds the learner's lock (`totals.lock_learner`), taken before it read or wrote
    the learner's results: so what is read here, and what the totals hold for this learner,
    cannot drift apart under a concurrent result, issue or revocation.
    """
    attained = attained_programs(session, learner_id)
    if not attained:
        return []
    learner = session.get(Learner, learner_id)
    assert learner is not None
    held = list(session.exec(select(Certificate).where(Certificate.learner_id == learner.id)).all())
    held_programs = {certificate.program_code for certificate in held}
    missing = [code for code in attained if code not in held_programs]
    if not missing:
        return []
    issued: list[Certificate] = []
    signer = signer_of(session)
    moment = now or utcnow()
    for program_code in missing:
        certificate = Certificate(
            learner_id=learner.id,
            province_code=learner.province_code,
            commune_code=learner.commune_code,
            program_code=program_code,
            issued_at=moment,
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
        audit.record(
            session,
            actor_id=actor_id,
            actor_role=actor_role,
            action="certificate.issue",
            target_type="certificate",
            target_id=certificate.id,
            province_code=certificate.province_code,
            commune_code=certificate.commune_code,
            detail={"program": program_code},
        )
    totals.certificates_changed(session, learner, before=held, after=held + issued)
    return issued
