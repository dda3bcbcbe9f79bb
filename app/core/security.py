"""Passwords, access tokens and personal-ID protection: the only module that handles them."""

import base64
import functools
import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jose import JWTError, jwt

from app.core.config import Settings

ACCESS_TOKEN_TYPE = "at+jwt"
ACCESS_TOKEN_ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


class Passwords:
    """Argon2id password hashing with the configured cost."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )

        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def spend_verification_time(self, password: str) -> None:
        """Cost an unknown username as much as a real check, so timing reveals no usernames."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("not-a-real-password")
        self.verify(self._dummy_hash, password)


class AccessTokens:
    """HS256 access tokens with issuer, audience, subject, issue and expiry times required."""

    def __init__(
        self, settings: Settings, *, audience: str | None = None, minutes: int | None = None
    ) -> None:
        # Another audience makes tokens of another kind (the pages' session): neither kind is
        # accepted where the other is expected.
        self._key = settings.secret_key.get_secret_value()
        self._issuer = settings.token_issuer
        self._audience = audience or settings.token_audience
        self.lifetime = timedelta(minutes=minutes or settings.access_token_minutes)
        # Only tokens that passed every check are kept; a rejected one is checked each time.
        self._checked = functools.lru_cache(maxsize=4096)(self._check)

    def issue(self, subject: str, claims: dict[str, Any] | None = None) -> str:
        now = datetime.now(UTC)
        payload = {
            **(claims or {}),
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return jwt.encode(
            payload,
            self._key,
            algorithm=ACCESS_TOKEN_ALGORITHM,
            headers={"typ": ACCESS_TOKEN_TYPE},
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, if it is ours, unexpired and meant for this service.

        A token seen before is not checked again (its signature, issuer and audience cannot
        change), only its expiry: every request carries one, and most carry the same few.
        """
        claims = self._checked(token)
        if claims["exp"] < datetime.now(UTC).timestamp():
            raise TokenError("Signature has expired.")
        return dict(claims)

    def _check(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != ACCESS_TOKEN_TYPE:
                raise TokenError("not an access token")
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ACCESS_TOKEN_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_iss": True,
                    "require_aud": True,
                    "require_sub": True,
                },
            )
        except JWTError as exc:
            raise TokenError(str(exc)) from exc
        return claims


class PersonalIds:
    """Blind index (keyed HMAC) and AES-GCM encryption of personal ID numbers."""

    def __init__(self, settings: Settings) -> None:
        master = settings.pii_key.get_secret_value().encode()
        # Keyed once: each index copies the keyed state instead of keying afresh.
        self._index = hmac.new(
            _derive(master, b"hocvuso citizen-id blind index"), digestmod=hashlib.sha256
        )
        self._cipher = AESGCM(_derive(master, b"hocvuso citizen-id encryption"))

    def blind_index(self, citizen_id: str) -> str:
        index = self._index.copy()
        index.update(citizen_id.encode())
        return index.hexdigest()

    def encrypt(self, citizen_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher.encrypt(nonce, citizen_id.encode(), b"citizen_id")
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        return self._cipher.decrypt(raw[:12], raw[12:], b"citizen_id").decode()


def mask_citizen_id(last4: str | None) -> str | None:
    """Only the last four digits are ever shown."""
    return None if last4 is None else "********" + last4


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
