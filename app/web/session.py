"""The browser session: an HttpOnly, SameSite cookie holding a short-lived signed credential.

The credential is a token of its own audience (`WEB_SESSION_AUDIENCE`), so neither it nor an
API bearer token is accepted in the other's place. It names the user only: the account is
read on every page, through the API's own check (`actor_from`), so a deactivated account or a
changed role takes effect at the next click. While in use it is renewed once half its life
has gone; left alone, it ends after `WEB_SESSION_MINUTES`.
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from app.accounts.actor import Actor
from app.accounts.deps import EPOCH_CLAIM, actor_from, actor_read, note_credential_epoch
from app.accounts.models import Role
from app.core.db import SessionDep, read_columns
from app.core.errors import Unauthorized
from app.core.security import AccessTokens, TokenError

SESSION_COOKIE = "hocvuso_session"
# The middleware sets a renewed credential it finds here on the way out.
RENEWED_SESSION = "web_session_renewed"


class SignInRequired(Exception):
    """No valid session: the visitor is sent to the sign-in page (and back afterwards)."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


def session_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.web_session_tokens
    return tokens


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    # No Max-Age: the cookie goes with the browser; the credential's own expiry ends it sooner.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )


def start_session(
    response: Response, request: Request, *, user_id: int, role: str, epoch: int
) -> None:
    """Sign the user in on this browser (`epoch`: the account's session epoch)."""
    token = session_tokens(request).issue(f"user:{user_id}", {"role": role, EPOCH_CLAIM: epoch})
    set_session_cookie(response, request, token)


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def session_user_id(request: Request) -> int | None:
    """The user id the session cookie names, if its credential is valid; renews it when due."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    tokens = session_tokens(request)
    try:
        claims = tokens.verify(token)
    except TokenError:
        return None
    subject = str(claims.get("sub", ""))
    if not subject.startswith("user:") or not subject[5:].isdigit():
        return None
    user_id = int(subject[5:])
    note_credential_epoch(request, claims)
    remaining = claims["exp"] - datetime.now(UTC).timestamp()
    if remaining < tokens.lifetime.total_seconds() / 2:
        request.state.web_session_renewed = tokens.issue(
            subject, {"role": claims.get("role"), EPOCH_CLAIM: claims.get(EPOCH_CLAIM, 0)}
        )
    return user_id


def get_page_actor(request: Request, session: SessionDep) -> Actor:
    """The signed-in staff member of a page; otherwise to the sign-in page.

    The account is read as the API reads it for a bearer token: gone or deactivated, the
    session ends here.
    """
    user_id = session_user_id(request)
    if user_id is None:
        raise SignInRequired(expired=SESSION_COOKIE in request.cookies)
    try:
        return actor_from(request, read_columns(session, *actor_read(user_id)))
    except Unauthorized:
        raise SignInRequired(expired=True) from None


PageActor = Annotated[Actor, Depends(get_page_actor)]


def home_url(actor: Actor) -> str:
    """The signed-in person's own place: the dashboard of their scope, or the field app."""
    if actor.role is Role.national_admin:
        return "/national"
    if actor.role is Role.province_admin:
        return f"/provinces/{actor.province_code}"
    if actor.role is Role.commune_admin:
        return f"/communes/{actor.commune_code}"
    return "/field/"


def safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after signing in; anything else is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def sign_in_url(request: Request, *, expired: bool = False) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    url = "/sign-in?next=" + quote(path, safe="/")
    return url + "&expired=1" if expired else url
