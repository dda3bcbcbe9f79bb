"""Certificates: read in scope, verify in public, revoke; the keys; the printable pages."""

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from app.accounts.deps import CurrentActor
from app.certificates import pages, redelivery, service
from app.certificates.deps import SignerDep, certificate_in_scope
from app.certificates.models import Certificate
from app.certificates.redelivery import DeliveryState
from app.certificates.schemas import (
    CertificatePublic,
    DeliveryItem,
    RedeliverAll,
    Redelivered,
    ReinstateRequest,
    RevokeRequest,
    Verification,
)
from app.core.db import SessionDep, WritesOnRead, utcnow
from app.core.errors import NotFound
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.learners import service as learners

router = APIRouter(tags=["certificates"])
public_router = APIRouter()

CertificateId = Annotated[uuid.UUID, Path(description="Certificate id")]


@router.get(
    "/learners/{learner_id}/certificates",
    response_model=Page[CertificatePublic],
    dependencies=[WritesOnRead],
)
def list_learner_certificates(
    learner_id: Annotated[uuid.UUID, Path(description="Learner id")],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[CertificatePublic]:
    """Chứng nhận của một người học / A learner's certificates, with their credentials."""
    learner = learners.get_in_scope(
        session, actor=actor, learner_id=learner_id, action="certificate.read"
    )
    learners.record_read(session, actor=actor, learner=learner)
    rows, next_cursor = service.list_for_learner(
        session, learner_id=learner.id, cursor=cursor, limit=limit
    )
    items = [service.to_public(session, c, signer) for c in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/certificates/{certificate_id}", response_model=CertificatePublic, dependencies=[WritesOnRead]
)
def get_certificate(
    certificate: Annotated[Certificate, Depends(certificate_in_scope("certificate.read"))],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
) -> CertificatePublic:
    """Một chứng nhận / One certificate with its signed credential and VNeID delivery state."""
    service.record_read(session, actor=actor, certificate=certificate)
    return service.to_public(session, certificate, signer)


@router.get(
    "/certificates/{certificate_id}/print",
    response_class=HTMLResponse,
    dependencies=[WritesOnRead],
)
def print_certificate(
    certificate: Annotated[Certificate, Depends(certificate_in_scope("certificate.read"))],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
) -> HTMLResponse:
    """Bản in / The printable certificate (HTML) with a QR code leading to verification."""
    service.record_read(session, actor=actor, certificate=certificate)
    public = service.to_public(session, certificate, signer)
    return HTMLResponse(pages.printable_page(public, signer.page_url(certificate)))


@router.get("/certificates/{certificate_id}/verify", response_model=Verification)
def verify_certificate(
    certificate_id: CertificateId, session: SessionDep, signer: SignerDep
) -> Verification:
    """Xác minh công khai / Public verification, no sign-in: status, program, date, name hidden.

    A revoked certificate answers `valid: false` with `status: "revoked"`.
    """
    return service.verification(session, certificate_id=certificate_id, signer=signer)


@router.post("/certificates/{certificate_id}/revoke", response_model=CertificatePublic)
def revoke_certificate(
    data: RevokeRequest,
    certificate: Annotated[Certificate, Depends(certificate_in_scope("certificate.revoke"))],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
) -> CertificatePublic:
    """Thu hồi chứng nhận / Revoke with a reason (commune admins and up, in scope)."""
    revoked = service.revoke(session, actor=actor, certificate=certificate, reason=data.reason)
    return service.to_public(session, revoked, signer)


def _stuck_after(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.delivery_stuck_minutes)


@router.get("/deliveries", response_model=Page[DeliveryItem])
def list_deliveries(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    state: Annotated[
        DeliveryState,
        Query(
            description="pending, rejected, withdrawing, or stuck (still waiting "
            "DELIVERY_STUCK_MINUTES after issue or revocation)"
        ),
    ] = DeliveryState.rejected,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[DeliveryItem]:
    """Chuyển sang VNeID / Deliveries in the caller's scope by state, with VNeID's reasons."""
    rows, next_cursor = redelivery.list_deliveries(
        session,
        actor=actor,
        state=state,
        now=utcnow(),
        stuck_after=_stuck_after(request),
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[_delivery_item(c) for c in rows], next_cursor=next_cursor)


def _delivery_item(certificate: Certificate) -> DeliveryItem:
    return DeliveryItem(
        certificate_id=certificate.id,
        learner_id=certificate.learner_id,
        program_code=certificate.program_code,
        commune_code=certificate.commune_code,
        certificate_status=certificate.status,
        status=certificate.vneid_status,
        attempts=certificate.delivery_attempts,
        last_error=certificate.last_delivery_error,
        next_attempt_at=certificate.next_delivery_at,
        issued_at=certificate.issued_at,
        revoked_at=certificate.revoked_at,
    )


@router.post("/deliveries/redeliver", response_model=Redelivered)
def redeliver_all(
    data: RedeliverAll, request: Request, session: SessionDep, actor: CurrentActor
) -> Redelivered:
    """Gửi lại tất cả / Send every certificate in a state (in scope) to VNeID again, now."""
    count = redelivery.redeliver_all(
        session,
        actor=actor,
        state=DeliveryState(data.state),
        now=utcnow(),
        stuck_after=_stuck_after(request),
    )
    return Redelivered(redelivered=count)


@router.post("/certificates/{certificate_id}/redeliver", response_model=CertificatePublic)
def redeliver_certificate(
    certificate: Annotated[Certificate, Depends(certificate_in_scope("certificate.redeliver"))],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
) -> CertificatePublic:
    """Gửi lại / Send one certificate to VNeID again now (after a fix); audited."""
    sent = redelivery.redeliver(session, actor=actor, certificate=certificate, now=utcnow())
    return service.to_public(session, sent, signer)


@router.post("/certificates/{certificate_id}/reinstate", response_model=CertificatePublic)
def reinstate_certificate(
    data: ReinstateRequest,
    certificate: Annotated[Certificate, Depends(certificate_in_scope("certificate.reinstate"))],
    session: SessionDep,
    actor: CurrentActor,
    signer: SignerDep,
) -> CertificatePublic:
    """Khôi phục chứng nhận thu hồi nhầm / Reinstate a certificate revoked by mistake, with a
    `reason` (commune admins and up, in scope); VNeID is sent it again."""
    reinstated = service.reinstate(
        session, actor=actor, certificate=certificate, reason=data.reason
    )
    return service.to_public(session, reinstated, signer)


@public_router.get("/.well-known/jwks.json", tags=["certificates"])
async def jwks(request: Request) -> JSONResponse:
    """Khóa công khai / The keys that verify certificates: the current one and retired ones."""
    keys: dict[str, Any] = request.app.state.credential_signer.keys.jwks()
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


@public_router.get("/.well-known/credential-issuers.json", tags=["certificates"])
async def credential_issuers(request: Request) -> JSONResponse:
    """Địa chỉ đơn vị cấp / Every address this service has issued credentials as.

    A verifier accepts a credential whose `iss` is listed here and whose signature verifies
    with `/.well-known/jwks.json`, so certificates issued before a change of domain still verify.
    """
    signer = request.app.state.credential_signer
    body = {"current": signer.base_url, "issuers": sorted(signer.issuers)}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


@public_router.get(
    "/certificates/{certificate_id}", response_class=HTMLResponse, include_in_schema=False
)
def certificate_page(
    certificate_id: Annotated[str, Path(max_length=100, description="Certificate id")],
    session: SessionDep,
    signer: SignerDep,
) -> HTMLResponse:
    """Trang xác minh / The page the QR code opens: the public verification, as HTML.

    An id that is malformed or unknown answers an HTML not-found page: whoever scanned a code
    reads a page, not JSON.
    """
    try:
        parsed = uuid.UUID(certificate_id)
        result = service.verification(session, certificate_id=parsed, signer=signer)
    except (ValueError, NotFound):
        return HTMLResponse(pages.not_found_page(), status_code=404)
    page_url = f"{signer.base_url}/certificates/{parsed}"
    return HTMLResponse(pages.verification_page(result, page_url))
