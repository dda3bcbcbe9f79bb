"""The mock VNeID's endpoints: identity check, sign-in, certificate intake, a citizen's list."""

import hmac
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Depends, Form, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.core.db import SessionDep
from app.core.errors import Conflict, DomainError, Invalid, NotFound, Unauthorized
from app.core.jwks import JwksUnavailable
from app.core.security import TokenError
from app.core.signing import unverified_kid
from app.core.vneid_wire import (
    mock_registry_key,
    unverified_issuer,
    verify_credential,
    verify_revocation,
)
from app.vneid_mock import oidc, service
from app.vneid_mock.schemas import (
    CertificationIntake,
    CertificationList,
    CertificationPublic,
    CitizenAdd,
    CitizenAdded,
    IdentityCheck,
    IdentityResult,
    Receipt,
    RevocationIntake,
    RevocationReceipt,
    TokenResponse,
)
from app.vneid_mock.tokens import MockTokens

router = APIRouter()
bearer = HTTPBearer(auto_error=False)


def get_read_session(request: Request) -> Iterator[Session]:
    """A session that only reads, so it never waits for a write lock.

    On SQLite the mounted mock shares the tracker's file, and the tracker may call it while its
    own request holds the write lock (the identity check at registration).
    """
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


class TrackerKeysUnavailable(DomainError):
    status = 503
    slug = "tracker-keys-unavailable"
    title_key = "vneid.unavailable.title"


@router.get("/.well-known/jwks.json", tags=["mock-vneid"])
async def jwks(request: Request) -> dict[str, Any]:
    """Khóa công khai của VNeID (mô phỏng) / The mock's keys, which verify its `id_token`s."""
    keys: dict[str, Any] = request.app.state.keys.jwks()
    return keys


@router.post("/api/citizens/verify", response_model=IdentityResult, tags=["mock-vneid"])
def verify_identity(
    data: IdentityCheck, request: Request, session: ReadSessionDep
) -> IdentityResult:
    """Đối chiếu danh tính / Does this ID number belong to this name and birth date?"""
    match = service.identity_matches(
        session,
        index=request.app.state.citizen_index,
        citizen_id=data.citizen_id,
        full_name=data.full_name,
        birth_date=data.birth_date,
    )
    return IdentityResult(match=match)


@router.post("/oauth/token", response_model=TokenResponse, tags=["mock-vneid"])
def token(
    request: Request,
    grant_type: Annotated[
        str, Form(pattern="^(password|authorization_code)$", description="Loại cấp quyền")
    ] = "password",
    username: Annotated[str | None, Form(description="Số định danh cá nhân / ID number")] = None,
    password: Annotated[str | None, Form(description="Mật mã VNeID / VNeID passcode")] = None,
    client_id: Annotated[str | None, Form()] = None,
    code: Annotated[str | None, Form(max_length=200)] = None,
    redirect_uri: Annotated[str | None, Form(max_length=500)] = None,
    code_verifier: Annotated[str | None, Form(max_length=128)] = None,
) -> TokenResponse:
    """Cấp mã VNeID / Tokens: a citizen's passcode (the mobile app) or an authorization code.

    `authorization_code` needs the code, the same `client_id` and `redirect_uri` as the
    authorization request and the PKCE `code_verifier`; a code is exchanged once.
    Wrong passcodes are throttled per citizen and per client address (429, Retry-After).
    """
    state = request.app.state
    audience = client_id or state.settings.vneid_client_id
    if audience != state.settings.vneid_client_id:
        raise Unauthorized("vneid.unknown_client")
    tokens: MockTokens = state.tokens
    if grant_type == "authorization_code":
        citizen, citizen_id, grant = oidc.redeem_code(
            state.engine,
            code=code or "",
            client_id=client_id or "",
            redirect_uri=redirect_uri or "",
            code_verifier=code_verifier or "",
            seal=state.citizen_seal,
        )
        nonce = grant.nonce
    else:
        if username is None or password is None:
            raise Invalid("vneid.unsupported_grant")
        citizen_id = username.strip()
        citizen = service.checked_sign_in(
            engine=state.engine,
            index=state.citizen_index,
            settings=state.settings,
            citizen_id=citizen_id,
            passcode=password,
            address=request.client.host if request.client else None,
        )
        nonce = None
    return TokenResponse(
        access_token=tokens.access_token(citizen),
        id_token=tokens.id_token(citizen, citizen_id=citizen_id, client_id=audience, nonce=nonce),
        expires_in=tokens.lifetime_seconds,
    )


async def _verified(
    request: Request, token: str, verify: Callable[..., dict[str, Any]] = verify_credential
) -> dict[str, Any]:
    """Check a credential (or a revocation notice) against the tracker's keys, over HTTP.

    Its issuer is its own: the tracker's address now, or one the tracker lists as its earlier
    address.
    """
    state = request.app.state
    issuer = unverified_issuer(token)
    try:
        keys = await state.tracker_jwks.keys_for(unverified_kid(token))
        trusted = issuer == state.settings.base_url or (
            issuer is not None and await state.tracker_issuers.includes(issuer)
        )
    except JwksUnavailable as exc:
        raise TrackerKeysUnavailable("vneid.unavailable.detail") from exc
    except TokenError as exc:
        raise Invalid("vneid.bad_credential") from exc
    if not trusted:
        raise Invalid("vneid.bad_credential")
    assert issuer is not None
    try:
        return verify(token, keys, issuer=issuer)
    except TokenError as exc:
        raise Invalid("vneid.bad_credential") from exc


@router.post(
    "/api/certifications",
    response_model=Receipt,
    status_code=status.HTTP_201_CREATED,
    tags=["mock-vneid"],
)
def receive_certification(
    data: CertificationIntake, request: Request, session: SessionDep
) -> Receipt:
    """Tiếp nhận chứng nhận / Intake: verify the credential, record it once, answer a receipt.

    A credential already received answers 409 with the first receipt's id.
    """
    claims = from_thread.run(_verified, request, data.credential)
    record = service.receive(
        session,
        index=request.app.state.citizen_index,
        claims=claims,
        credential=data.credential,
        citizen_id=data.citizen_id,
    )
    return Receipt(
        receipt_id=record.id, credential_id=record.credential_id, received_at=record.received_at
    )


@router.post(
    "/api/certifications/revocations",
    response_model=RevocationReceipt,
    tags=["mock-vneid"],
)
def receive_revocation(
    data: RevocationIntake, request: Request, session: SessionDep
) -> RevocationReceipt:
    """Thu hồi chứng nhận / The issuer revokes a certification it delivered (signed notice).

    The citizen's app shows it as revoked from then on. A certification VNeID never received
    answers 404; a repeated notice answers the first revocation.
    """
    claims = from_thread.run(_verified, request, data.notice, verify_revocation)
    record = service.revoke(session, claims=claims)
    assert record.revoked_at is not None
    return RevocationReceipt(credential_id=record.credential_id, revoked_at=record.revoked_at)


def _signed_in_citizen(
    request: Request,
    citizen_ref: Annotated[uuid.UUID, Path(description="Mã công dân trong VNeID / handle")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> uuid.UUID:
    if credentials is None:
        raise Unauthorized()
    try:
        claims = request.app.state.tokens.verify_access_token(credentials.credentials)
    except TokenError:
        raise Unauthorized() from None
    if claims.get("sub") != str(citizen_ref):
        raise NotFound()
    return citizen_ref


@router.get(
    "/api/citizens/{citizen_ref}/certifications",
    response_model=CertificationList,
    tags=["mock-vneid"],
)
def citizen_certifications(
    citizen_ref: Annotated[uuid.UUID, Depends(_signed_in_citizen)], session: ReadSessionDep
) -> CertificationList:
    """Chứng nhận trong ứng dụng VNeID / What the citizen's VNeID app shows (own token only)."""
    records = service.certifications_of(session, citizen_ref)
    return CertificationList(
        items=[
            CertificationPublic(
                receipt_id=r.id,
                credential_id=r.credential_id,
                issuer=r.issuer,
                program_code=r.program_code,
                title=r.title,
                holder_name=r.holder_name,
                valid_from=r.valid_from,
                received_at=r.received_at,
                status="revoked" if r.revoked_at else "valid",
                revoked_at=r.revoked_at,
                revoked_reason=r.revoked_reason,
            )
            for r in records
        ]
    )


@router.post(
    "/api/admin/citizens",
    response_model=CitizenAdded,
    status_code=status.HTTP_201_CREATED,
    tags=["mock-vneid"],
)
def add_demo_citizen(
    data: CitizenAdd,
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> CitizenAdded:
    """Thêm công dân thử nghiệm / Add a demonstration citizen (the tracker's key; not in
    production). One already in the registry answers 409."""
    settings = request.app.state.settings
    if settings.environment == "production":
        raise NotFound()
    expected = mock_registry_key(settings)
    if credentials is None or not hmac.compare_digest(credentials.credentials, expected):
        raise Unauthorized()
    index = request.app.state.citizen_index
    if service.find_citizen(session, index=index, citizen_id=data.citizen_id) is not None:
        raise Conflict("vneid.citizen_exists")
    citizen = service.add_citizen(
        session,
        index=index,
        citizen_id=data.citizen_id,
        full_name=data.full_name,
        birth_date=data.birth_date,
        passcode=data.passcode,
    )
    return CitizenAdded(
        handle=citizen.id, full_name=citizen.full_name, birth_date=citizen.birth_date
    )
