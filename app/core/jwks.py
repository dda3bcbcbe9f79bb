"""Another party's public keys, fetched over HTTP from its JWKS and cached."""

import time
from typing import Any

import httpx


class JwksUnavailable(Exception):
    """The key set could not be fetched or read."""


class JwksCache:
    """Keys by kid from a JWKS URL, fetched again when stale or when a kid is unknown.

    An unknown kid (the other side rotated) forces a fetch, but not more often than
    `min_refresh_seconds`, so forged kids cannot make us hammer the other side.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        max_age_seconds: float = 300.0,
        min_refresh_seconds: float = 5.0,
    ) -> None:
        self.http = http
        self.url = url
        self.max_age = max_age_seconds
        self.min_refresh = min_refresh_seconds
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None

    async def keys_for(self, kid: str | None) -> dict[str, dict[str, Any]]:
        """The known keys, fresh enough to hold `kid` if the other side publishes it."""
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.max_age
        unknown = kid is not None and kid not in self._keys
        may_refresh = self._fetched_at is None or now - self._fetched_at >= self.min_refresh
        if stale or (unknown and may_refresh):
            try:
                await self._fetch()
            except JwksUnavailable:
                # Keys we already hold still verify what they signed.
                if not self._keys:
                    raise
        return dict(self._keys)

    async def _fetch(self) -> None:
        try:
            response = await self.http.get(self.url)
            response.raise_for_status()
            body = response.json()
            keys = {
                str(key["kid"]): dict(key)
                for key in body["keys"]
                if isinstance(key, dict) and "kid" in key
            }
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise JwksUnavailable(type(exc).__name__) from exc
        self._keys = keys
        self._fetched_at = time.monotonic()


class IssuerList:
    """The addresses another party issues as (a JSON document `{"issuers": [...]}`), cached.

    An address not in the list fetches it again, at most every `min_refresh_seconds`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        max_age_seconds: float = 300.0,
        min_refresh_seconds: float = 5.0,
    ) -> None:
        self.http = http
        self.url = url
        self.max_age = max_age_seconds
        self.min_refresh = min_refresh_seconds
        self._issuers: frozenset[str] = frozenset()
        self._fetched_at: float | None = None

    async def includes(self, issuer: str) -> bool:
        """Whether the other side says it issues (or issued) as `issuer`."""
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.max_age
        may_refresh = self._fetched_at is None or now - self._fetched_at >= self.min_refresh
        if stale or (issuer not in self._issuers and may_refresh):
            try:
                response = await self.http.get(self.url)
                response.raise_for_status()
                listed = response.json()["issuers"]
                self._issuers = frozenset(str(item) for item in listed)
                self._fetched_at = now
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                if self._fetched_at is None:
                    raise JwksUnavailable(type(exc).__name__) from exc
        return issuer in self._issuers
