"""What the tracker and VNeID (or the mock VNeID) share on the wire: the signed credentials and
revocation notices one sends and the other checks, the key that admits the tracker to the
mock's registry, and the HTTP client either side calls the other with."""

from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jose import JWTError, jwt

from app.core.config import Settings
from app.core.security import TokenError
from app.core.signing import verify_jws

CREDENTIAL_TYPE = "vc+jwt"
# The issuer's signed word that one of its credentials is revoked, for VNeID.
REVOCATION_TYPE = "revocation+jwt"


def unverified_issuer(token: str) -> str | None:
    """The `iss` a token claims, before anything is checked (to choose what to check it by)."""
    try:
        issuer = jwt.get_unverified_claims(token).get("iss")
    except JWTError:
        return None
    return issuer if isinstance(issuer, str) else None


def verify_credential(
    token: str, keys: dict[str, dict[str, str]], *, issuer: str
) -> dict[str, Any]:
    """Check a credential against a JWK set: signature, `typ`, issuer, id and subject."""
    claims = verify_jws(
        token, keys, typ=CREDENTIAL_TYPE, issuer=issuer, require=("iat", "iss", "sub", "jti")
    )
    subject = claims.get("credentialSubject")
    if not isinstance(subject, dict) or claims.get("id") != claims.get("jti"):
        raise TokenError("not a credential")
    return claims


def verify_revocation(
    token: str, keys: dict[str, dict[str, str]], *, issuer: str
) -> dict[str, Any]:
    """Check a revocation notice against a JWK set: signature, `typ`, issuer and subject."""
    claims = verify_jws(
        token, keys, typ=REVOCATION_TYPE, issuer=issuer, require=("iat", "iss", "sub")
    )
    if not isinstance(claims.get("revoked_at"), str):
        raise TokenError("not a revocation notice")
    return claims


def mock_registry_key(settings: Settings) -> str:
    """The key the tracker shows the mock VNeID to add demonstration citizens to its registry.

    Derived from SECRET_KEY, which the mock shares (mounted, or served alone from the same
    environment): no other caller can add a citizen, and a real VNeID has no such endpoint.
    """
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mock-vneid registry").derive(
        settings.secret_key.get_secret_value().encode()
    )
    return key.hex()


def make_http_client(
    settings: Settings, *, base_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An async client with the configured timeouts (and connection retries on real sockets)."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(settings.vneid_timeout_seconds),
        transport=transport or httpx.AsyncHTTPTransport(retries=settings.vneid_connect_retries),
        headers={"User-Agent": "hocvuso"},
    )
