"""VNeID sign-in for learners (the tracker as a relying party) and the learner's own pages."""

import base64
import hashlib
import uuid
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import quote

from anyio import from_thread
from fastapi import APIRouter, Path, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from app.certificates import pages as certificate_pages
from app.certificates import service as certificates
from app.certificates.deps import SignerDep
from app.certificates.models import Certificate
from app.core.db import SessionDep, WritesOnRead
from app.core.deps import PersonalIdsDep
from app.core.errors import DomainError
from app.core.i18n import translate as api_translate
from app.core.security import TokenError
from app.learners.models import Learner
from app.me import service as me
from app.vneid.client import VneidUnavailable
from app.vneid.deps import VneidDep
from app.vneid.flow import COOKIE_NAME, COOKIE_PATH, LIFETIME_SECONDS, FlowCookies, states_match
from app.web.i18n import page_language, register_messages, translate
from app.web.learner.messages import MESSAGES
from app.web.learner.session import page_learner, start_learner_session
from app.web.templating import add_templates, render

router = APIRouter(include_in_schema=False)
register_messages(MESSAGES)
add_templates(FilePath(__file__).parent / "templates")

CertificateId = Annotated[uuid.UUID, Path(description="Certificate id")]
# The printable certificate keeps its own inline style: allowed by its hash, nothing else is.
_PRINT_STYLE_HASH = base64.b64encode(
    hashlib.sha256(certificate_pages.STYLE.encode()).digest()
).decode()
PRINT_POLICY = (
    f"default-src 'self'; style-src 'sha256-{_PRINT_STYLE_HASH}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _flows(request: Request) -> FlowCookies:
    return FlowCookies(request.app.state.settings)


@router.get("/sign-in/vneid")
async def start_vneid_sign_in(
    request: Request, vneid: VneidDep, next: str | None = None
) -> Response:
    """To VNeID's sign-in page, with a fresh state, nonce and PKCE verifier in a signed cookie."""
    try:
        metadata = await vneid.provider()
    except VneidUnavailable:
        return _sign_in_problem(
            request, api_translate("vneid.unavailable.detail", _lang(request)), 503
        )
    flows = _flows(request)
    flow = flows.start(next or "/me")
    target = flows.authorization_url(
        str(metadata["authorization_endpoint"]), flow, lang=page_language(request)
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        flows.dump(flow),
        max_age=LIFETIME_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        # Lax: VNeID sends the browser back here with a top-level GET from its own site.
        samesite="lax",
        secure=flows.secure,
    )
    return response


@router.get("/sign-in/vneid/callback", dependencies=[WritesOnRead])
def vneid_callback(
    request: Request,
    session: SessionDep,
    vneid: VneidDep,
    personal_ids: PersonalIdsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    iss: str | None = None,
) -> Response:
    """VNeID sends the browser back: check state, exchange the code, verify the `id_token`."""
    lang = _lang(request)
    flows = _flows(request)
    flow = flows.load(request.cookies.get(COOKIE_NAME))
    if flow is None or not states_match(flow, state):
        return _refused(request, translate("learner.sign_in_failed.state", lang), 400)
    if error or not code:
        return _refused(request, translate("learner.sign_in_failed.denied", lang), 401)
    if iss is not None and iss.rstrip("/") != vneid.issuer.rstrip("/"):
        # RFC 9207: an answer from another provider is not this flow's.
        return _refused(request, translate("learner.sign_in_failed.denied", lang), 401)
    # The exchange comes before the first statement of this request's transaction: on SQLite
    # the mounted VNeID writes to the same file.
    try:
        id_token = from_thread.run(
            lambda: vneid.exchange_code(
                code=code, redirect_uri=flows.redirect_uri, code_verifier=flow.verifier
            )
        )
        claims = from_thread.run(vneid.verify_id_token, id_token)
    except TokenError:
        exc = DomainError("vneid.bad_id_token", audit_action="auth.vneid_rejected")
        from_thread.run(request.app.state.record_denial, request, exc)
        return _refused(request, api_translate("vneid.bad_id_token", lang), 401)
    except VneidUnavailable:
        return _refused(request, api_translate("vneid.unavailable.detail", lang), 503)
    try:
        learner = me.accept_id_token(
            session, personal_ids=personal_ids, token=id_token, claims=claims, nonce=flow.nonce
        )
    except DomainError as refusal:
        # Nothing of a refused sign-in is kept, and the denial's own write must not wait for
        # this transaction's lock (SQLite).
        session.rollback()
        if refusal.audit_action:
            from_thread.run(request.app.state.record_denial, request, refusal)
        text = api_translate(refusal.detail_key or refusal.title_key, lang, **refusal.params)
        return _refused(request, text, refusal.status)
    response = RedirectResponse(flow.next_path, status_code=303)
    start_learner_session(response, request, learner_id=learner.id)
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


@router.get("/me")
def my_page(request: Request, session: SessionDep, signer: SignerDep) -> Response:
    """What I completed, what remains for each program of my groups, my certificates."""
    learner = page_learner(request, session)
    if learner is None:
        return _to_vneid(request)
    progress = me.progress(session, learner=learner)
    mine = [
        certificates.to_public(session, c, signer)
        for c in me.my_certificates(session, learner=learner)
    ]
    return render(
        request,
        "learner/me.html",
        {
            "learner": learner,
            "progress": progress,
            "my_programs": [p for p in progress.programs if p.for_my_groups],
            "other_programs": [p for p in progress.programs if not p.for_my_groups],
            "certificates": mine,
        },
    )


@router.get("/me/certificates/{certificate_id}")
def my_certificate_page(
    request: Request, certificate_id: CertificateId, session: SessionDep, signer: SignerDep
) -> Response:
    """One of my certificates: its state, QR code, printable page and signed credential."""
    mine = _mine(request, session, certificate_id)
    if mine is None:
        return _to_vneid(request)
    learner, certificate = mine
    public = certificates.to_public(session, certificate, signer)
    page_url = signer.page_url(certificate)
    return render(
        request,
        "learner/certificate.html",
        {
            "learner": learner,
            "certificate": public,
            "page_url": page_url,
            "qr": certificate_pages.qr_svg(page_url),
        },
    )


@router.get("/me/certificates/{certificate_id}/print")
def print_my_certificate(
    request: Request, certificate_id: CertificateId, session: SessionDep, signer: SignerDep
) -> Response:
    """My printable certificate, with its QR code."""
    mine = _mine(request, session, certificate_id)
    if mine is None:
        return _to_vneid(request)
    _, certificate = mine
    public = certificates.to_public(session, certificate, signer)
    html = certificate_pages.printable_page(public, signer.page_url(certificate))
    return Response(
        html,
        media_type="text/html",
        headers={"Content-Security-Policy": PRINT_POLICY, "Cache-Control": "no-store"},
    )


@router.get("/me/certificates/{certificate_id}/credential.jwt")
def download_my_credential(
    request: Request, certificate_id: CertificateId, session: SessionDep
) -> Response:
    """My signed credential (compact JWS), to keep or hand to anyone who verifies it."""
    mine = _mine(request, session, certificate_id)
    if mine is None:
        return _to_vneid(request)
    _, certificate = mine
    if not certificate.credential:
        return _refused(request, translate("learner.no_certificates", _lang(request)), 404)
    return Response(
        certificate.credential,
        media_type="application/vc+jwt",
        headers={
            "Content-Disposition": f'attachment; filename="chung-nhan-{certificate.id}.jwt"',
            "Cache-Control": "no-store",
        },
    )


def _mine(
    request: Request, session: Session, certificate_id: uuid.UUID
) -> tuple[Learner, Certificate] | None:
    """The signed-in learner and one of their own certificates; None when no one is signed in."""
    learner = page_learner(request, session)
    if learner is None:
        return None
    return learner, me.my_certificate(session, learner=learner, certificate_id=certificate_id)


def _lang(request: Request) -> str:
    return page_language(request)


def _to_vneid(request: Request) -> Response:
    return RedirectResponse("/sign-in/vneid?next=" + quote(request.url.path, safe="/"), 303)


def _refused(request: Request, text: str, status_code: int) -> Response:
    response = _sign_in_problem(request, text, status_code)
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


def _sign_in_problem(request: Request, text: str, status_code: int) -> Response:
    return render(
        request,
        "learner/sign_in_problem.html",
        {"text": text},
        status_code=status_code,
        headers={"Retry-After": "60"} if status_code == 503 else None,
    )
