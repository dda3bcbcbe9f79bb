"""Certificate pages: one certificate in the commune's scope, its printable page through the
browser session, and its revocation with a reason."""

import base64
import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.certificates import pages as printable
from app.certificates import router as certificates_api
from app.certificates import service
from app.certificates.deps import SignerDep
from app.certificates.models import Certificate
from app.certificates.schemas import RevokeRequest
from app.core.db import SessionDep, WritesOnRead
from app.core.errors import Conflict, NotFound
from app.learners import service as learners
from app.units.models import Commune
from app.web.forms import domain_errors, validation_errors
from app.web.i18n import page_language, register_messages
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import commune_in_scope, crumbs

router = APIRouter()

CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
CertificateId = Annotated[uuid.UUID, Path()]

# The printable page keeps its own small style sheet inline; only that one is allowed.
_STYLE_HASH = base64.b64encode(hashlib.sha256(printable.STYLE.encode()).digest()).decode()
PRINT_POLICY = (
    f"default-src 'self'; style-src 'self' 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

MESSAGES = {
    "certificates.title": ("Chứng nhận", "Certificate"),
    "certificates.holder": ("Người được cấp", "Holder"),
    "certificates.program": ("Chương trình", "Program"),
    "certificates.issued_at": ("Ngày cấp", "Issued on"),
    "certificates.status": ("Trạng thái", "Status"),
    "certificates.revoked_at": ("Ngày thu hồi", "Revoked on"),
    "certificates.revoked_reason": ("Lý do thu hồi", "Reason for revoking"),
    "certificates.vneid": ("Gửi sang VNeID", "Delivery to VNeID"),
    "certificates.print": ("In chứng nhận", "Print the certificate"),
    "certificates.verify": ("Trang xác minh công khai", "Public verification page"),
    "certificates.revoke": ("Thu hồi chứng nhận", "Revoke the certificate"),
    "certificates.revoke_hint": (
        "Chứng nhận bị thu hồi không còn được tính vào chỉ tiêu và VNeID sẽ được báo.",
        "A revoked certificate stops counting in every indicator and VNeID is told.",
    ),
    "certificates.reason": ("Lý do", "Reason"),
    "certificates.revoke_confirm": (
        "Thu hồi chứng nhận này? Không thể hoàn tác.",
        "Revoke this certificate? This cannot be undone.",
    ),
    "certificates.revoked_notice": ("Đã thu hồi chứng nhận.", "The certificate was revoked."),
    "certificates.back": ("Về hồ sơ người học", "Back to the learner's record"),
}
register_messages(MESSAGES)


def _certificate_of_commune(
    session: Session, actor: Actor, commune: Commune, certificate_id: uuid.UUID, action: str
) -> Certificate:
    certificate = service.get_in_scope(
        session, actor=actor, certificate_id=certificate_id, action=action
    )
    if certificate.commune_code != commune.code:
        raise NotFound("what.certificate")
    return certificate


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    certificate: Certificate,
    signer: SignerDep,
    *,
    errors: dict[str, str],
    reason: str = "",
) -> Response:
    service.record_read(session, actor=actor, certificate=certificate)
    learner = learners.get_in_scope(
        session, actor=actor, learner_id=certificate.learner_id, action="certificate.read"
    )
    return render(
        request,
        "certificates/detail.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "certificate": service.to_public(session, certificate, signer),
            "learner": learners.to_public(learner),
            "can_revoke": actor.role
            in (Role.national_admin, Role.province_admin, Role.commune_admin),
            "errors": errors,
            "reason": reason,
            "revoked_now": request.query_params.get("revoked") == "1",
        },
        status_code=422 if errors else 200,
    )


@router.get(
    "/communes/{code}/certificates/{certificate_id}",
    response_class=HTMLResponse,
    dependencies=[WritesOnRead],
)
def certificate_page(
    request: Request,
    code: CommuneCode,
    certificate_id: CertificateId,
    session: SessionDep,
    actor: PageActor,
    signer: SignerDep,
) -> Response:
    """One certificate: its state, its delivery to VNeID, print and revoke (the read is audited)."""
    commune = commune_in_scope(session, actor, code)
    certificate = _certificate_of_commune(
        session, actor, commune, certificate_id, "certificate.read"
    )
    return _page(request, session, actor, commune, certificate, signer, errors={})


@router.get(
    "/communes/{code}/certificates/{certificate_id}/print",
    response_class=HTMLResponse,
    dependencies=[WritesOnRead],
)
def print_page(
    request: Request,
    code: CommuneCode,
    certificate_id: CertificateId,
    session: SessionDep,
    actor: PageActor,
    signer: SignerDep,
) -> Response:
    """The printable certificate, as the API makes it, opened from a link with the session."""
    commune = commune_in_scope(session, actor, code)
    certificate = _certificate_of_commune(
        session, actor, commune, certificate_id, "certificate.read"
    )
    page = certificates_api.print_certificate(certificate, session, actor, signer)
    page.headers["Content-Security-Policy"] = PRINT_POLICY
    return page


@router.post("/communes/{code}/certificates/{certificate_id}/revoke", response_class=HTMLResponse)
async def revoke(
    request: Request,
    code: CommuneCode,
    certificate_id: CertificateId,
    session: SessionDep,
    actor: PageActor,
    signer: SignerDep,
) -> Response:
    """Revoke with a reason, by the API's rules (commune admins and up, in scope)."""
    form = await request.form()
    reason = str(form.get("reason") or "")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        certificate = _certificate_of_commune(
            session, actor, commune, certificate_id, "certificate.revoke"
        )
        try:
            data = RevokeRequest.model_validate({"reason": reason})
            service.revoke(session, actor=actor, certificate=certificate, reason=data.reason)
        except ValidationError as exc:
            errors = validation_errors(exc, lang)
        except Conflict as exc:
            session.rollback()
            errors = {"reason": domain_errors(exc, lang).get("__all__", "")}
        else:
            return RedirectResponse(
                f"/communes/{commune.code}/certificates/{certificate.id}?revoked=1", 303
            )
        return _page(
            request, session, actor, commune, certificate, signer, errors=errors, reason=reason
        )

    return await run_in_threadpool(work)
