"""ASGI middleware: request ids and the body size limit."""

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestIdMiddleware:
    """Takes a safe `X-Request-ID` from the client or makes one, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodyTooLarge(HTTPException):
    """Raised while a streamed body passes the limit; rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413)
        self.limit = limit


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, by Content-Length or while streaming.

    `path_limits` gives some paths (file uploads) a limit of their own.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        on_too_large: Any,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_too_large = on_too_large
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self.on_too_large(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


FORM_MEDIA_TYPE = b"application/x-www-form-urlencoded"
FORM_CHECKED = 64 * 1024


class NulGuardMiddleware:
    """Refuses a NUL character in the path, the query or a form body, naming the fields.

    PostgreSQL's text cannot hold one; JSON bodies are checked field by field by their models
    (`app.core.bounds.InputModel`), these parts of a request before any route reads them.
    """

    def __init__(self, app: ASGIApp, *, on_refused: Any) -> None:
        self.app = app
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        locations: list[list[str]] = []
        if "\x00" in scope["path"]:
            locations.append(["path"])
        query = scope.get("query_string", b"")
        if b"%00" in query.lower() or b"\x00" in query:
            locations += _nul_fields("query", query)
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        length = headers.get(b"content-length", b"")
        # Forms here are a few fields (a sign-in): larger ones are left to their route.
        if content_type == FORM_MEDIA_TYPE and length.isdigit() and int(length) <= FORM_CHECKED:
            body, receive = await _read_body(receive)
            if b"%00" in body.lower() or b"\x00" in body:
                locations += _nul_fields("body", body)
        if locations:
            await self.on_refused(scope, receive, send, locations)
            return
        await self.app(scope, receive, send)


def _nul_fields(where: str, encoded: bytes) -> list[list[str]]:
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    named = [[where, name] for name, value in pairs if "\x00" in name or "\x00" in value]
    return named or [[where]]


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (a small form), and a `receive` that gives it again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer under the given prefixes that sets none.

    API answers carry personal data (learner records, rejected rows, printed certificates):
    no browser or shared cache may keep them. A route that may be cached says so itself.
    """

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_no_store)
