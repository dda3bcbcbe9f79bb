"""Every error the service answers is RFC 9457 problem+json, in Vietnamese or English."""

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var
from app.core.errors import PROBLEM_MEDIA_TYPE, DomainError
from app.core.i18n import Language, negotiate, translate, validation_message
from app.core.logs import mask_long_numbers, without_message

logger = logging.getLogger(__name__)

PROBLEM_BASE = "urn:hocvuso:problem:"


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = mask_long_numbers(request.url.path)
    body["request_id"] = request_id_var.get()
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    response_headers = {"Content-Language": language_of(request), **(headers or {})}
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=response_headers
    )


def language_of(request: Request) -> Language:
    return negotiate(request.headers.get("accept-language"))


def _render_errors(raw: Sequence[Mapping[str, Any]], lang: Language) -> list[dict[str, Any]]:
    rendered = []
    for error in raw:
        params = dict(error.get("params") or error.get("ctx") or {})
        safe_params = {k: v for k, v in params.items() if isinstance(v, str | int | float)}
        rendered.append(
            {
                "loc": list(error.get("loc", [])),
                "type": error.get("type", "value_error"),
                "msg": validation_message(
                    str(error.get("type", "value_error")),
                    str(error.get("msg", "")),
                    lang,
                    **safe_params,
                ),
            }
        )
    return rendered


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    lang = language_of(request)
    if exc.audit_action:
        record_denial = getattr(request.app.state, "record_denial", None)
        if record_denial is not None:
            await record_denial(request, exc)
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        title=translate(exc.title_key, lang),
        detail=translate(exc.detail_key, lang, **exc.params) if exc.detail_key else None,
        errors=_render_errors(exc.errors, lang),
        headers=exc.headers,
        extra=exc.extra,
    )


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = language_of(request)
    # Never echo the submitted values back: they may hold personal ID numbers.
    raw = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return problem_response(
        request,
        status=422,
        slug="validation",
        title=translate("validation.title", lang),
        detail=translate("validation.detail", lang),
        errors=_render_errors(raw, lang),
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    lang = language_of(request)
    if exc.status_code == 404:
        slug, title = "not-found", translate("not_found.title", lang)
        detail = translate("not_found.detail", lang, what="what.resource")
    elif exc.status_code == 405:
        slug, title, detail = "method-not-allowed", translate("method.title", lang), None
    elif exc.status_code == 413:
        slug, title = "payload-too-large", translate("too_large.title", lang)
        limit = getattr(exc, "limit", None) or request.app.state.settings.max_body_bytes
        detail = translate("too_large.detail", lang, limit=limit)
    elif exc.status_code == 400:
        # FastAPI's answer to a body it could not parse (a broken multipart body, JSON that is
        # not UTF-8): the document promises 413 for a part over the size limit, else 422.
        cause = exc.__cause__
        if isinstance(cause, StarletteHTTPException) and cause.status_code == 413:
            return await http_error_handler(request, cause)
        if _part_too_large(exc):
            slug, title, status = "payload-too-large", translate("too_large.title", lang), 413
            detail = translate("too_large.part_detail", lang)
        else:
            slug, title, status = "validation", translate("validation.title", lang), 422
            detail = translate("body.unreadable", lang)
        return problem_response(request, status=status, slug=slug, title=title, detail=detail)
    elif exc.status_code == 401:
        slug, title = "unauthorized", translate("unauthorized.title", lang)
        detail = translate("unauthorized.detail", lang)
    else:
        slug, title = "http-error", translate("http.title", lang)
        detail = str(exc.detail) if exc.detail else None
    return problem_response(
        request,
        status=exc.status_code,
        slug=slug,
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


def _part_too_large(exc: StarletteHTTPException) -> bool:
    # Starlette turns python-multipart's refusal into a 400 carrying its message.
    cause = exc.__cause__
    message = cause.message if isinstance(cause, MultiPartException) else str(exc.detail)
    return "maximum size" in message


_RETRY_ON_POSTGRESQL = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.LockNotAvailable,
    # statement_timeout fired (or the statement was cancelled from outside).
    psycopg.errors.QueryCanceled,
    # The server is shutting down or restarting, or an administrator ended the session.
    psycopg.errors.OperatorIntervention,
)


def is_transient(exc: BaseException) -> bool:
    """A failure that trying again resolves, having stored nothing the retry could double.

    A deadlock or a serialization failure on PostgreSQL (the transaction was rolled back), a
    lock not granted or a statement not finished in time, a connection the server ended or
    lost, no connection free in the pool, or SQLite still busy after its timeout. On the event
    loop's path the driver's own errors arrive unwrapped: any of its operational errors is one
    of these.
    """
    if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout | SQLAlchemyTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    cause = exc.orig
    if isinstance(cause, _RETRY_ON_POSTGRESQL):
        return True
    if isinstance(cause, psycopg.OperationalError) and cause.sqlstate is None:
        return True  # no answer from the server at all: the connection is gone
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)


def unexpected_error_response(request: Request, exc: Exception) -> JSONResponse:
    """500, or 503 with `Retry-After` for a clash with another transaction.

    The log says only what `without_message` gives.
    """
    lang = language_of(request)
    if is_transient(exc):
        logger.warning(
            "retry advised after %s on %s %s",
            type(getattr(exc, "orig", None) or exc).__name__,
            request.method,
            request.url.path,
        )
        return problem_response(
            request,
            status=503,
            slug="busy",
            title=translate("busy.title", lang),
            detail=translate("busy.detail", lang),
            headers={"Retry-After": "1"},
        )
    logger.error(
        "unhandled error on %s %s: %s", request.method, request.url.path, without_message(exc)
    )
    return problem_response(
        request,
        status=500,
        slug="internal",
        title=translate("internal.title", lang),
        detail=translate("internal.detail", lang),
    )


class ErrorShieldMiddleware:
    """Answers an unhandled error with a problem, and keeps its message out of every log.

    Starlette's own last-resort handler passes the error on to the server after answering, and
    the server logs it whole; this one answers and stops there. It sits inside the request-id
    middleware, so the answer carries the request's id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            response = unexpected_error_response(Request(scope), exc)
            if not started:
                await response(scope, receive, send)


async def too_large_response(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The 413 answer for a body whose declared length is over the limit."""
    request = Request(scope, receive)
    lang = language_of(request)
    response = problem_response(
        request,
        status=413,
        slug="payload-too-large",
        title=translate("too_large.title", lang),
        detail=translate("too_large.detail", lang, limit=limit),
    )
    await response(scope, receive, send)


async def nul_refused_response(
    scope: Scope, receive: Receive, send: Send, locations: list[list[str]]
) -> None:
    """The 422 answer for a NUL character in the path, the query or a form field."""
    request = Request(scope, receive)
    lang = language_of(request)
    errors = [{"loc": loc, "type": "text.nul"} for loc in locations]
    response = problem_response(
        request,
        status=422,
        slug="validation",
        title=translate("validation.title", lang),
        detail=translate("validation.detail", lang),
        errors=_render_errors(errors, lang),
    )
    await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
