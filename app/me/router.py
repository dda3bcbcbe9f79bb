"""Learner sign-in with VNeID and self-service: own progress and certificates."""

import uuid
from typing import Annotated

from anyio import from_thread
from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from app.accounts.schemas import Token
from app.certificates import pages
from app.certificates import service as certificates
from app.certificates.deps import SignerDep
from app.certificates.schemas import CertificatePublic
from app.core.db import SessionDep
from app.core.deps import AccessTokensDep, PersonalIdsDep
from app.core.errors import Unauthorized
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.security import TokenError
from app.me import service
from app.me.deps import LEARNER_ROLE, LEARNER_SUBJECT, CurrentLearner
from app.me.schemas import Progress, VneidSignIn
from app.vneid.deps import VneidDep

router = APIRouter()


@router.post("/auth/vneid", response_model=Token, tags=["auth"])
def sign_in_with_vneid(
    data: VneidSignIn,
    session: SessionDep,
    vneid: VneidDep,
    tokens: AccessTokensDep,
    personal_ids: PersonalIdsDep,
) -> Token:
    """Người học đăng nhập bằng VNeID / Exchange a VNeID `id_token` for a learner access token.

    Each `id_token` is accepted once: a replay answers 401.
    """
    try:
        claims = from_thread.run(vneid.verify_id_token, data.id_token)
    except TokenError:
        raise Unauthorized("vneid.bad_id_token", audit_action="auth.vneid_rejected") from None
    learner = service.accept_id_token(
        session, personal_ids=personal_ids, token=data.id_token, claims=claims
    )
    token = tokens.issue(f"{LEARNER_SUBJECT}{learner.id}", {"role": LEARNER_ROLE})
    return Token(access_token=token, expires_in=int(tokens.lifetime.total_seconds()))


@router.get("/me/progress", response_model=Progress, tags=["me"])
def my_progress(learner: CurrentLearner, session: SessionDep) -> Progress:
    """Tiến độ của tôi / Courses done and what remains for each program."""
    return service.progress(session, learner=learner)


@router.get("/me/certificates", response_model=Page[CertificatePublic], tags=["me"])
def my_certificates(
    learner: CurrentLearner,
    session: SessionDep,
    signer: SignerDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[CertificatePublic]:
    """Chứng nhận của tôi / My certificates, with their credentials and VNeID delivery."""
    rows, next_cursor = certificates.list_for_learner(
        session, learner_id=learner.id, cursor=cursor, limit=limit
    )
    items = [certificates.to_public(session, c, signer) for c in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/me/certificates/{certificate_id}/print", response_class=HTMLResponse, tags=["me"])
def print_my_certificate(
    certificate_id: Annotated[uuid.UUID, Path(description="Certificate id")],
    learner: CurrentLearner,
    session: SessionDep,
    signer: SignerDep,
) -> HTMLResponse:
    """Bản in chứng nhận của tôi / My printable certificate, with its QR code."""
    certificate = service.my_certificate(session, learner=learner, certificate_id=certificate_id)
    public = certificates.to_public(session, certificate, signer)
    return HTMLResponse(pages.printable_page(public, signer.page_url(certificate)))
