"""The mock's OpenID Connect provider: authorization requests, codes bound by PKCE (S256).

A code is handed to the registered redirect URI once the citizen signs in; it is good for one
exchange, within `CODE_LIFETIME`, by the same client, with the same redirect URI and the
verifier whose SHA-256 is the challenge.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.db import utcnow, write_bind
from app.core.errors import DomainError
from app.vneid_mock.models import VneidAuthorization, VneidCitizen

CODE_LIFETIME = timedelta(seconds=60)
CALLBACK_PATH = "/sign-in/vneid/callback"
# RFC 7636: a verifier and an S256 challenge are unreserved characters, 43 to 128 of them.
PKCE_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


class InvalidGrant(DomainError):
    """RFC 6749's `invalid_grant`, as problem+json with the OAuth `error` member beside it."""

    status = 400
    slug = "vneid-invalid-grant"
    title_key = "vneid.invalid_grant.title"

    def __init__(self) -> None:
        super().__init__("vneid.invalid_grant.detail", extra={"error": "invalid_grant"})


@dataclass(frozen=True)
class AuthorizationRequest:
    """The parameters a relying party sent to /authorize, once they were found acceptable."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    code_challenge: str

    def hidden_fields(self) -> dict[str, str]:
        fields = {
            "response_type": "code",
            "scope": "openid",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.nonce:
            fields["nonce"] = self.nonce
        return fields


class BadAuthorizationRequest(Exception):
    """An authorization request the provider cannot send back to its client.

    `redirect` is set when the client and redirect URI are known: the error then goes back
    there, as OAuth says; otherwise the citizen sees an error page.
    """

    def __init__(self, error: str, redirect: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.redirect = redirect


def registered_redirect_uris(settings: Settings) -> dict[str, set[str]]:
    """The one client the mock knows: the tracker, with its callback under PUBLIC_BASE_URL."""
    return {settings.vneid_client_id: {settings.base_url + CALLBACK_PATH}}


def check_request(settings: Settings, params: dict[str, str]) -> AuthorizationRequest:
    """The authorization request, or BadAuthorizationRequest saying what is wrong."""
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in registered_redirect_uris(settings).get(client_id, set()):
        raise BadAuthorizationRequest("invalid_client")
    state = params.get("state", "")

    def refuse(error: str) -> BadAuthorizationRequest:
        query = {"error": error, "iss": settings.vneid_issuer.rstrip("/")}
        if state:
            query["state"] = state
        return BadAuthorizationRequest(error, redirect=_with_query(redirect_uri, query))

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type")
    if "openid" not in params.get("scope", "").split():
        raise refuse("invalid_scope")
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != "S256" or not PKCE_PATTERN.match(challenge):
        raise refuse("invalid_request")
    nonce = params.get("nonce") or None
    if len(state) > 500 or (nonce is not None and len(nonce) > 200):
        raise refuse("invalid_request")
    return AuthorizationRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
    )


class CitizenSeal:
    """Encrypts the ID number a code will put in its id_token, for the code's short life."""

    def __init__(self, settings: Settings) -> None:
        master = settings.pii_key.get_secret_value().encode()
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"mock-vneid sealed citizen id"
        ).derive(master)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, citizen_id: str) -> str:
        return self._fernet.encrypt(citizen_id.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


def issue_code(
    session: Session,
    *,
    request: AuthorizationRequest,
    citizen: VneidCitizen,
    citizen_id: str,
    seal: CitizenSeal,
) -> str:
    """A fresh code for this citizen and request; only its hash is stored."""
    code = secrets.token_urlsafe(32)
    # Codes past their minute are of no use to anyone: each new one clears them away.
    session.execute(delete(VneidAuthorization).where(col(VneidAuthorization.expires_at) < utcnow()))
    session.add(
        VneidAuthorization(
            code_hash=_hash(code),
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            nonce=request.nonce,
            citizen_ref=citizen.id,
            sealed_citizen_id=seal.seal(citizen_id),
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    session.flush()
    return code


def cancel_url(request: AuthorizationRequest, *, issuer: str) -> str:
    """Back to the client without signing in: OAuth's `access_denied`."""
    query = {"error": "access_denied", "iss": issuer.rstrip("/")}
    if request.state:
        query["state"] = request.state
    return _with_query(request.redirect_uri, query)


def redirect_with_code(request: AuthorizationRequest, code: str, *, issuer: str) -> str:
    """Where the browser goes after signing in (RFC 9207's `iss` included)."""
    query = {"code": code, "iss": issuer.rstrip("/")}
    if request.state:
        query["state"] = request.state
    return _with_query(request.redirect_uri, query)


def redeem_code(
    engine: Engine,
    *,
    code: str,
    client_id: str,
    redirect_uri: str,
    code_verifier: str,
    seal: CitizenSeal,
) -> tuple[VneidCitizen, str, VneidAuthorization]:
    """The citizen, ID number and grant of a code exchanged now; InvalidGrant otherwise.

    Any exchange uses the code up, even one that fails its checks: a code seen by someone else
    must not be tried again and again. So the code is taken in a transaction of its own,
    committed before the checks whose refusal rolls the request back.
    """
    digest = _hash(code)
    now = utcnow()
    with Session(write_bind(engine), expire_on_commit=False) as session:
        taken = session.execute(
            update(VneidAuthorization)
            .where(
                col(VneidAuthorization.code_hash) == digest,
                col(VneidAuthorization.used_at).is_(None),
                col(VneidAuthorization.expires_at) > now,
            )
            .values(used_at=now)
        )
        grant = session.get(VneidAuthorization, digest) if taken.rowcount == 1 else None  # type: ignore[attr-defined]
        citizen = session.get(VneidCitizen, grant.citizen_ref) if grant is not None else None
        session.commit()
    if (
        grant is None
        or citizen is None
        or not hmac.compare_digest(grant.client_id, client_id)
        or not hmac.compare_digest(grant.redirect_uri, redirect_uri)
        or not PKCE_PATTERN.match(code_verifier)
        or not hmac.compare_digest(grant.code_challenge, s256(code_verifier))
    ):
        raise InvalidGrant()
    try:
        citizen_id = seal.open(grant.sealed_citizen_id)
    except InvalidToken:
        raise InvalidGrant() from None
    return citizen, citizen_id, grant


def s256(verifier: str) -> str:
    """RFC 7636's S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def discovery(issuer: str) -> dict[str, Any]:
    """The OpenID Provider metadata a relying party reads first."""
    issuer = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "birthdate"],
        "authorization_response_iss_parameter_supported": True,
    }


def _with_query(uri: str, query: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(query)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
