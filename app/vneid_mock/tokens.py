"""The mock VNeID's tokens: `id_token` for relying parties, access tokens for its own app."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.signing import KeyRing, verify_jws
from app.vneid_mock.models import VneidCitizen

ID_TOKEN_TYPE = "JWT"
ACCESS_TOKEN_TYPE = "at+jwt"
LIFETIME = timedelta(minutes=10)


class MockTokens:
    """Signs with the mock's own key ring, never the tracker's."""

    def __init__(self, keys: KeyRing, *, issuer: str) -> None:
        self.keys = keys
        self.issuer = issuer.rstrip("/")
        self.own_audience = f"{self.issuer}/api"

    def _claims(self, citizen: VneidCitizen, audience: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "iss": self.issuer,
            "aud": audience,
            "sub": str(citizen.id),
            "iat": int(now.timestamp()),
            "exp": int((now + LIFETIME).timestamp()),
        }

    def id_token(
        self, citizen: VneidCitizen, *, citizen_id: str, client_id: str, nonce: str | None = None
    ) -> str:
        """OpenID Connect identity for `client_id`: who signed in, by ID number and name.

        Each token has its own `jti`, so a relying party can accept it once; `nonce` is the
        relying party's, from its authorization request.
        """
        claims = {
            **self._claims(citizen, client_id),
            "jti": str(uuid.uuid4()),
            "citizen_id": citizen_id,
            "name": citizen.full_name,
            "birthdate": citizen.birth_date.isoformat(),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return self.keys.sign(claims, typ=ID_TOKEN_TYPE)[0]

    def access_token(self, citizen: VneidCitizen) -> str:
        return self.keys.sign(self._claims(citizen, self.own_audience), typ=ACCESS_TOKEN_TYPE)[0]

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """Claims of the mock's own access token; TokenError otherwise."""
        return verify_jws(
            token,
            self.keys.public_keys(),
            typ=ACCESS_TOKEN_TYPE,
            issuer=self.issuer,
            audience=self.own_audience,
            require=("exp", "iat", "iss", "aud", "sub"),
        )

    @property
    def lifetime_seconds(self) -> int:
        return int(LIFETIME.total_seconds())
