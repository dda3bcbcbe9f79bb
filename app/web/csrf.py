"""Protection of every page form against cross-site requests.

A random value lives in an HttpOnly, SameSite=Strict cookie; forms carry its keyed hash
(`csrf_token`), htmx and `fetch` send that hash as the `X-CSRF-Token` header. Another site
can make the browser send the cookie (not even that, with SameSite) but cannot read the page
to learn the hash. A request whose `Origin` names another site is refused outright.
"""

import hashlib
import hmac
import secrets

from fastapi import Request

from app.core.db import READ_METHODS

CSRF_COOKIE = "hocvuso_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# The middleware sets a new cookie value it finds here on the way out.
NEW_CSRF_SEED = "web_csrf_seed"


class CsrfRefused(Exception):
    """A change sent without this site's token, or from another site's page."""


def _seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, NEW_CSRF_SEED, None)
    if not seed:
        seed = secrets.token_urlsafe(32)
        setattr(request.state, NEW_CSRF_SEED, seed)
    return seed


def _token_for(request: Request, seed: str) -> str:
    key = request.app.state.settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this browser's forms must carry (made, with its cookie, on first use)."""
    return _token_for(request, _seed(request))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def require_csrf(request: Request) -> None:
    """Refuse a state-changing page request without a valid token (a dependency)."""
    if request.method in READ_METHODS:
        return
    if not _same_origin(request):
        raise CsrfRefused
    seed = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not seed or not sent or not hmac.compare_digest(sent, _token_for(request, seed)):
        raise CsrfRefused
