"""The tracker as a relying party of VNeID: an authorization request and its signed cookie.

`state`, `nonce` and the PKCE verifier live only in the browser, in a short-lived cookie
signed with a key derived from SECRET_KEY, so the callback can check them without storing
anything on the server.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.config import Settings

COOKIE_NAME = "hocvuso_vneid_flow"
COOKIE_PATH = "/sign-in/vneid"
LIFETIME_SECONDS = 600
CALLBACK_PATH = "/sign-in/vneid/callback"


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    # Where to go after signing in; always a path of this service.
    next_path: str = "/me"

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class FlowCookies:
    """Signs and reads the flow cookie; anything altered, expired or malformed reads as None."""

    def __init__(self, settings: Settings) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"vneid sign-in flow"
        ).derive(settings.secret_key.get_secret_value().encode())
        self.secure = settings.base_url.startswith("https://")
        self.redirect_uri = settings.base_url + CALLBACK_PATH
        self.client_id = settings.vneid_client_id

    def start(self, next_path: str = "/me") -> Flow:
        return Flow(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=next_path if _own_path(next_path) else "/me",
        )

    def dump(self, flow: Flow, *, now: float | None = None) -> str:
        body = {
            "s": flow.state,
            "n": flow.nonce,
            "v": flow.verifier,
            "p": flow.next_path,
            "e": int((now or time.time()) + LIFETIME_SECONDS),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def load(self, value: str | None, *, now: float | None = None) -> Flow | None:
        if not value or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            if int(body["e"]) < (now or time.time()):
                return None
            return Flow(
                state=str(body["s"]),
                nonce=str(body["n"]),
                verifier=str(body["v"]),
                next_path=str(body["p"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def authorization_url(self, endpoint: str, flow: Flow, *, lang: str) -> str:
        """The provider's sign-in page for this flow (code flow, PKCE S256, our language)."""
        query = {
            "response_type": "code",
            "scope": "openid",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
            "ui_locales": lang,
        }
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def states_match(flow: Flow | None, state: str | None) -> bool:
    """The callback's `state` is the one this browser's flow sent."""
    return flow is not None and state is not None and hmac.compare_digest(flow.state, state)


def _own_path(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//") and "\\" not in path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
