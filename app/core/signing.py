"""Asymmetric signing keys kept in a directory that rotates, and the JWS they sign and verify.

Access tokens (HS256, `app.core.security`) never use these keys: credentials and sign-in
tokens from VNeID are signed with ES256 and carry their own `typ`, so neither can pass for
the other.
"""

import os
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import JWTError, jwk, jwt

from app.core.security import TokenError

ALGORITHM = "ES256"
CURRENT_FILE = "current"
PRIVATE_SUFFIX = ".pem"
RETIRED_SUFFIX = ".pub.pem"


class SigningKeyMissing(RuntimeError):
    """No signing key is configured where one is required."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    jwk: dict[str, str]


class KeyRing:
    """The current signing key and the retired ones that still verify what they signed.

    The directory holds `<kid>.pem` (PKCS#8 private keys), `<kid>.pub.pem` (retired keys, public
    part only) and `current`, which names the key that signs. A rotation done by another process
    (`hocvuso rotate-keys`) is picked up when `current` changes.
    """

    def __init__(self, directory: Path, *, prefix: str, create: bool) -> None:
        self.directory = directory
        self.prefix = prefix
        self._loaded_current: str | None = None
        self._private: dict[str, str] = {}
        self._public: dict[str, PublicKey] = {}
        if not (directory / CURRENT_FILE).exists():
            if not create:
                raise SigningKeyMissing(
                    f"no signing key in {directory}: run `hocvuso rotate-keys` to make one"
                )
            rotate(directory, prefix=prefix)
        self._load()

    def _read_current(self) -> str:
        return (self.directory / CURRENT_FILE).read_text().strip()

    def _load(self) -> None:
        private: dict[str, str] = {}
        public: dict[str, PublicKey] = {}
        for path in sorted(self.directory.glob("*" + PRIVATE_SUFFIX)):
            text = path.read_text()
            if path.name.endswith(RETIRED_SUFFIX):
                kid = path.name.removesuffix(RETIRED_SUFFIX)
            else:
                kid = path.name.removesuffix(PRIVATE_SUFFIX)
                private[kid] = text
            public[kid] = PublicKey(kid, _public_jwk(text, kid))
        current = self._read_current()
        if current not in private:
            raise SigningKeyMissing(f"the current key {current!r} has no private key")
        self._private, self._public, self._loaded_current = private, public, current

    def _refresh(self) -> None:
        if self._read_current() != self._loaded_current:
            self._load()

    @property
    def current_kid(self) -> str:
        self._refresh()
        assert self._loaded_current is not None
        return self._loaded_current

    def public_keys(self) -> dict[str, dict[str, str]]:
        """Every key that verifies, current first, by kid."""
        current = self.current_kid
        ordered = [current, *sorted(k for k in self._public if k != current)]
        return {kid: self._public[kid].jwk for kid in ordered}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set to publish."""
        return {"keys": list(self.public_keys().values())}

    def sign(self, payload: Mapping[str, Any], *, typ: str) -> tuple[str, str]:
        """A compact JWS of `payload` with the current key, and that key's id."""
        kid = self.current_kid
        token = jwt.encode(
            dict(payload),
            self._private[kid],
            algorithm=ALGORITHM,
            headers={"kid": kid, "typ": typ},
        )
        return token, kid


def rotate(directory: Path, *, prefix: str) -> str:
    """Make a new current key; the old current one keeps only its public part (retired)."""
    directory.mkdir(parents=True, exist_ok=True)
    kid = f"{prefix}-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(directory / f"{kid}{PRIVATE_SUFFIX}", pem, mode=0o600)
    current_path = directory / CURRENT_FILE
    previous = current_path.read_text().strip() if current_path.exists() else None
    _write(current_path, kid.encode(), mode=0o644)
    if previous and (directory / f"{previous}{PRIVATE_SUFFIX}").exists():
        old = directory / f"{previous}{PRIVATE_SUFFIX}"
        loaded = serialization.load_pem_private_key(old.read_bytes(), password=None)
        public_pem = loaded.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write(directory / f"{previous}{RETIRED_SUFFIX}", public_pem, mode=0o644)
        old.unlink()
    return kid


def _write(path: Path, data: bytes, *, mode: int) -> None:
    # Written aside and renamed, so a reader never sees half a key.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    temporary.replace(path)


def _public_jwk(pem: str, kid: str) -> dict[str, str]:
    # A private key's JWK carries "d"; the public one is what we publish.
    public = jwk.construct(pem, ALGORITHM).public_key()
    data = {k: str(v) for k, v in public.to_dict().items()}
    return {**data, "kid": kid, "use": "sig", "alg": ALGORITHM}


def unverified_kid(token: str) -> str | None:
    """The `kid` a token claims, before anything is checked (to pick the key set)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except JWTError as exc:
        raise TokenError("malformed token") from exc
    return str(kid) if kid else None


def verify_jws(
    token: str,
    keys: Mapping[str, Mapping[str, Any]],
    *,
    typ: str | Collection[str],
    issuer: str,
    audience: str | None = None,
    require: Collection[str] = ("iat", "iss", "sub"),
) -> dict[str, Any]:
    """The claims of a JWS signed by one of `keys` (by kid); TokenError for anything else.

    Only ES256 and RS256 are accepted, whatever the header says; `alg: none`, a kid outside
    the set and a `typ` meant for another use are refused before any signature is checked.
    """
    allowed_types = {typ} if isinstance(typ, str) else set(typ)
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise TokenError("malformed token") from exc
    algorithm = header.get("alg")
    if algorithm not in ("ES256", "RS256"):
        raise TokenError("algorithm not allowed")
    if header.get("typ") not in allowed_types:
        raise TokenError("wrong token type")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise TokenError("unknown key")
    if key.get("alg", algorithm) != algorithm:
        raise TokenError("algorithm does not match the key")
    options = {f"require_{claim}": True for claim in require}
    options["verify_aud"] = audience is not None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            dict(key),
            algorithms=[algorithm],
            issuer=issuer,
            audience=audience,
            options=options,
        )
    except JWTError as exc:
        raise TokenError(str(exc)) from exc
    return claims
