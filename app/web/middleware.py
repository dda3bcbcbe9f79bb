"""What every page answer carries: security headers, the session's and CSRF cookies, gzip."""

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.csrf import CSRF_COOKIE, NEW_CSRF_SEED
from app.web.session import RENEWED_SESSION, SESSION_COOKIE

# No inline script, handler or style attribute anywhere: every page passes this policy.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Paths whose answers are not pages: the API and the documents made for it keep their own.
NOT_PAGES = (
    "/api/",
    "/mock-vneid",
    "/.well-known/",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/certificates/",
)


def is_page_path(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


def _cookie(name: str, value: str, *, secure: bool, samesite: str) -> bytes:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    cookie[name]["path"] = "/"
    cookie[name]["httponly"] = True
    cookie[name]["samesite"] = samesite
    if secure:
        cookie[name]["secure"] = True
    return cookie.output(header="").strip().encode("latin-1")


class PageMiddleware:
    """Adds the pages' headers and cookies to page answers; compresses them (not the API's).

    A page that sets its own `Content-Security-Policy` (the API documentation) keeps it, as
    one that sets its own `Cache-Control` does; any other page is `no-store`, since most show
    personal data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(self._pages, minimum_size=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        await self.gzip(scope, receive, send)

    async def _pages(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                state = scope.get("state", {})
                secure = scope.get("scheme") == "https"
                seed = state.get(NEW_CSRF_SEED)
                if seed:
                    headers.append(
                        "Set-Cookie",
                        _cookie(CSRF_COOKIE, seed, secure=secure, samesite="Strict").decode(
                            "latin-1"
                        ),
                    )
                renewed = state.get(RENEWED_SESSION)
                if renewed and not _sets_cookie(headers, SESSION_COOKIE):
                    headers.append(
                        "Set-Cookie",
                        _cookie(SESSION_COOKIE, renewed, secure=secure, samesite="Lax").decode(
                            "latin-1"
                        ),
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _sets_cookie(headers: MutableHeaders, name: str) -> bool:
    # Signing out (or in) sets the session cookie itself: a renewal must not undo that.
    return any(value.startswith(name + "=") for value in headers.getlist("set-cookie"))
