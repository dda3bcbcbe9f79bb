"""Learner self-service: sign-in with VNeID, own progress and certificates."""

import hmac
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.catalog.models import Course, Program, ProgramCourse
from app.certificates.models import Certificate
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.security import PersonalIds
from app.learners import service as learners
from app.learners.models import Learner
from app.me.schemas import CourseDone, CourseRemaining, ProgramProgress, Progress
from app.training.models import Completion
from app.vneid import replay


def accept_id_token(
    session: Session,
    *,
    personal_ids: PersonalIds,
    token: str,
    claims: dict[str, Any],
    nonce: str | None = None,
) -> Learner:
    """The learner a verified VNeID `id_token` vouches for, taking the token once.

    `nonce` is the one this browser's sign-in sent, when the token came back from it.
    """
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise Unauthorized("vneid.bad_id_token", audit_action="auth.vneid_rejected")
    replay.take_once(session, token=token, claims=claims)
    return learner_for_vneid(session, personal_ids=personal_ids, claims=claims)


def learner_for_vneid(
    session: Session, *, personal_ids: PersonalIds, claims: dict[str, Any]
) -> Learner:
    """The registered learner VNeID vouched for (by ID number); 403 if there is none."""
    citizen_id = str(claims.get("citizen_id", ""))
    learner = (
        learners.find_by_citizen_id(session, personal_ids=personal_ids, citizen_id=citizen_id)
        if citizen_id
        else None
    )
    if learner is None or learner.erased_at is not None:
        raise Forbidden("vneid.not_registered", audit_action="auth.vneid_unregistered")
    audit.record(
        session,
        actor_id=f"learner:{learner.id}",
        actor_role="learner",
        action="auth.vneid_login",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
    )
    return learner


def progress(session: Session, *, learner: Learner) -> Progress:
    """Courses done and, for every active program, what remains to attain it."""
    completions = session.exec(
        select(Completion)
        .where(Completion.learner_id == learner.id)
        .order_by(col(Completion.course_code))
    ).all()
    titles = {c.code: c.title_vi for c in session.exec(select(Course)).all()}
    best = {c.course_code: c.score for c in completions}
    passed = {c.course_code: c.score for c in completions if c.passed}
    links: dict[str, list[ProgramCourse]] = defaultdict(list)
    for link in session.exec(select(ProgramCourse).order_by(col(ProgramCourse.course_code))):
        links[link.program_code].append(link)
    # A program's valid certificate, else its latest (one revoked may have been followed by
    # a new one).
    certificates = session.exec(select(Certificate).where(Certificate.learner_id == learner.id))
    held = {
        c.program_code: c
        for c in sorted(certificates, key=lambda c: (c.status == "valid", c.issued_at))
    }
    groups = {g.value for g in learner.groups}
    programs = []
    for program in session.exec(
        select(Program).where(col(Program.active)).order_by(col(Program.code))
    ):
        required = links.get(program.code, [])
        remaining = [
            CourseRemaining(
                course_code=link.course_code,
                title=titles.get(link.course_code, link.course_code),
                pass_score=link.pass_score,
                best_score=best.get(link.course_code),
            )
            for link in required
            if passed.get(link.course_code, -1) < link.pass_score
        ]
        certificate = held.get(program.code)
        programs.append(
            ProgramProgress(
                program_code=program.code,
                title=program.title_vi,
                for_my_groups=program.default_for in groups,
                attained=bool(required) and not remaining,
                certificate_id=certificate.id if certificate else None,
                required=len(required),
                done=len(required) - len(remaining),
                remaining=remaining,
            )
        )
    return Progress(
        learner_id=learner.id,
        full_name=learner.full_name,
        courses_done=[
            CourseDone(
                course_code=c.course_code,
                title=titles.get(c.course_code, c.course_code),
                score=c.score,
                passed=c.passed,
                completed_at=c.completed_at,
            )
            for c in completions
        ],
        programs=programs,
    )


def my_certificate(session: Session, *, learner: Learner, certificate_id: uuid.UUID) -> Certificate:
    """One of the learner's own certificates; anyone else's answers 404 (and is audited)."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.learner_id != learner.id:
        raise NotFound(
            "what.certificate",
            audit_action="me.certificate_denied",
            audit_target=str(certificate_id),
            audit_commune=learner.commune_code,
        )
    return certificate


def my_certificates(session: Session, *, learner: Learner) -> Sequence[Certificate]:
    """All the learner's certificates, revoked ones too, newest first."""
    return session.exec(
        select(Certificate)
        .where(Certificate.learner_id == learner.id)
        .order_by(col(Certificate.issued_at).desc())
    ).all()
