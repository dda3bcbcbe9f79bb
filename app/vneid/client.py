"""The tracker's side of VNeID: one httpx client at a configurable base URL."""

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx

from app.core.config import Settings
from app.core.errors import DomainError
from app.core.jwks import JwksCache, JwksUnavailable
from app.core.security import TokenError
from app.core.signing import unverified_kid, verify_jws

logger = logging.getLogger(__name__)

DUPLICATE_PROBLEM = "urn:hocvuso:problem:vneid-duplicate"
NOT_FOUND_PROBLEM = "urn:hocvuso:problem:not-found"
# VNeID judged the certificate itself and said no: trying again would change nothing. Any
# other failure (5xx, timeouts, throttling, a wrong URL or credentials being fixed) is retried.
FINAL_STATUSES = frozenset({400, 409, 422})
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
# A readiness probe must answer before the prober gives up.
READINESS_TIMEOUT = 3.0


class VneidUnavailable(DomainError):
    """VNeID did not answer in time or answered with an error."""

    status = 503
    slug = "vneid-unavailable"
    title_key = "vneid.unavailable.title"

    def __init__(self) -> None:
        super().__init__("vneid.unavailable.detail", headers={"Retry-After": "60"})


@dataclass(frozen=True)
class DeliveryOutcome:
    kind: Literal["delivered", "withdrawn", "retry", "rejected"]
    receipt_id: str | None = None
    error: str | None = None
    duplicate: bool = False


class VneidClient:
    """Certificate delivery, identity checks and sign-in token verification against VNeID."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.issuer = settings.vneid_issuer
        self.client_id = settings.vneid_client_id
        self.jwks = JwksCache(
            http,
            "/.well-known/jwks.json",
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
        )
        self._provider: dict[str, Any] | None = None

    async def deliver(self, *, credential: str, citizen_id: str) -> DeliveryOutcome:
        """Hand one signed credential over; a duplicate answer means VNeID already holds it."""
        try:
            response = await self.http.post(
                "/api/certifications", json={"credential": credential, "citizen_id": citizen_id}
            )
        except httpx.HTTPError as exc:
            return DeliveryOutcome("retry", error=f"{type(exc).__name__}")
        body = _json(response)
        if response.status_code in (200, 201) and body.get("receipt_id"):
            return DeliveryOutcome("delivered", receipt_id=str(body["receipt_id"]))
        if response.status_code == 409 and body.get("type") == DUPLICATE_PROBLEM:
            receipt = body.get("receipt_id")
            if receipt:
                return DeliveryOutcome("delivered", receipt_id=str(receipt), duplicate=True)
        error = refusal_reason(response.status_code, body)
        if response.status_code in FINAL_STATUSES:
            return DeliveryOutcome("rejected", error=error)
        return DeliveryOutcome("retry", error=error)

    async def withdraw(self, *, notice: str) -> DeliveryOutcome:
        """Tell VNeID a credential is revoked; one it never received needs nothing more.

        Anything but a clear answer is retried: a revoked certificate must not stay on show.
        """
        try:
            response = await self.http.post(
                "/api/certifications/revocations", json={"notice": notice}
            )
        except httpx.HTTPError as exc:
            return DeliveryOutcome("retry", error=f"{type(exc).__name__}")
        body = _json(response)
        if response.status_code == 200 and body.get("revoked_at"):
            return DeliveryOutcome("withdrawn")
        if response.status_code == 404 and body.get("type") == NOT_FOUND_PROBLEM:
            return DeliveryOutcome("withdrawn", error="not held by VNeID")
        return DeliveryOutcome("retry", error=refusal_reason(response.status_code, body))

    async def unreachable(self) -> str | None:
        """Why VNeID cannot be reached (an error's name or an HTTP status), or None if it can."""
        try:
            response = await self.http.get("/.well-known/jwks.json", timeout=READINESS_TIMEOUT)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        return None

    async def check_identity(self, *, citizen_id: str, full_name: str, birth_date: date) -> bool:
        """Whether VNeID knows this person with this name and birth date."""
        try:
            response = await self.http.post(
                "/api/citizens/verify",
                json={
                    "citizen_id": citizen_id,
                    "full_name": full_name,
                    "birth_date": birth_date.isoformat(),
                },
            )
            response.raise_for_status()
            return bool(response.json()["match"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            logger.warning("VNeID identity check failed: %s", type(exc).__name__)
            raise VneidUnavailable() from exc

    async def add_demo_citizen(self, person: dict[str, str], *, registry_key: str) -> str | None:
        """Put a person in the mock VNeID's registry; its handle, or None if already there."""
        try:
            response = await self.http.post(
                "/api/admin/citizens",
                json=person,
                headers={"Authorization": f"Bearer {registry_key}"},
            )
        except httpx.HTTPError as exc:
            logger.warning("VNeID registry call failed: %s", type(exc).__name__)
            raise VneidUnavailable() from exc
        if response.status_code == 409:
            return None
        handle = _json(response).get("handle")
        if response.status_code != 201 or not isinstance(handle, str):
            logger.warning("VNeID registry refused a citizen: HTTP %s", response.status_code)
            raise VneidUnavailable()
        return handle

    async def provider(self) -> dict[str, Any]:
        """VNeID's OpenID Connect metadata (read once, then kept)."""
        if self._provider is None:
            try:
                response = await self.http.get("/.well-known/openid-configuration")
                response.raise_for_status()
                metadata = response.json()
                issuer = metadata.get("issuer") if isinstance(metadata, dict) else None
                if str(issuer).rstrip("/") != self.issuer.rstrip("/"):
                    raise ValueError("metadata of another issuer")
                endpoints = ("authorization_endpoint", "token_endpoint")
                if not all(isinstance(metadata.get(name), str) for name in endpoints):
                    raise ValueError("metadata without its endpoints")
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                logger.warning("VNeID discovery failed: %s", type(exc).__name__)
                raise VneidUnavailable() from exc
            self._provider = metadata
        return self._provider

    async def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The `id_token` an authorization code stands for; TokenError if VNeID refuses it."""
        metadata = await self.provider()
        try:
            response = await self.http.post(
                str(metadata["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.client_id,
                    "code_verifier": code_verifier,
                },
            )
        except httpx.HTTPError as exc:
            logger.warning("VNeID code exchange failed: %s", type(exc).__name__)
            raise VneidUnavailable() from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise VneidUnavailable()
        id_token = _json(response).get("id_token")
        if response.status_code != 200 or not isinstance(id_token, str):
            raise TokenError("authorization code refused")
        return id_token

    async def verify_id_token(self, token: str) -> dict[str, Any]:
        """The claims of a VNeID sign-in token meant for this tracker; TokenError otherwise."""
        try:
            keys = await self.jwks.keys_for(unverified_kid(token))
        except JwksUnavailable as exc:
            raise VneidUnavailable() from exc
        claims = verify_jws(
            token,
            keys,
            typ=("JWT", "id_token+jwt"),
            issuer=self.issuer,
            audience=self.client_id,
            require=("exp", "iat", "iss", "aud", "sub"),
        )
        return claims


def refusal_reason(status: int, body: dict[str, Any]) -> str:
    """What VNeID said, in its own words: status, problem type, then its detail and fields.

    Anything shaped like an ID number is masked: the reason is shown to staff and logged.
    """
    words = [str(body.get(key)) for key in ("detail", "title") if body.get(key)][:1]
    for error in body.get("errors") or []:
        if isinstance(error, dict) and error.get("msg"):
            words.append(str(error["msg"]))
    reason = f"HTTP {status} {body.get('type', '')}".strip()
    if words:
        reason += ": " + "; ".join(words)
    return _TWELVE_DIGITS.sub("************", reason)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
