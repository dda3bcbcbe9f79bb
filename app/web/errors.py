"""Errors on pages answer pages: a not-found page, the sign-in page, a refused form.

The API keeps its problem+json answers; these handlers choose by the request's path and hand
every other request to the handler the API installed.
"""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from app.core.errors import DomainError
from app.core.i18n import translate as api_translate
from app.web.csrf import CsrfRefused
from app.web.i18n import page_language, translate
from app.web.middleware import is_page_path
from app.web.session import SignInRequired, end_session, sign_in_url
from app.web.templating import render

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    answer = handler(request, exc)
    return await answer if isinstance(answer, Awaitable) else answer


def error_page(request: Request, status: int, text: str | None = None) -> Response:
    """A page saying what went wrong, with the way back."""
    lang = page_language(request)
    if status == 404:
        title = translate("error.not_found.title", lang)
        text = text or translate("error.not_found.text", lang)
    elif status == 403:
        title = translate("error.forbidden.title", lang)
    else:
        title = translate("error.other.title", lang)
    return render(request, "error.html", {"title": title, "text": text or ""}, status_code=status)


def _to_sign_in(request: Request, *, expired: bool) -> Response:
    target = sign_in_url(request, expired=expired) if request.method == "GET" else "/sign-in"
    if request.headers.get("hx-request"):
        # htmx swaps answers into the page: it is told to load the sign-in page instead.
        response: Response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if expired:
        end_session(response, request)
    return response


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return _to_sign_in(request, expired=exc.expired)


async def csrf_refused(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, translate("error.csrf.text", page_language(request)))


def install_page_errors(app: FastAPI) -> None:
    """Pages answer their errors as pages; the API's answers are unchanged."""
    api_domain: Handler = app.exception_handlers[DomainError]
    api_validation: Handler = app.exception_handlers[RequestValidationError]
    api_http: Handler = app.exception_handlers[StarletteHTTPException]

    async def domain_error(request: Request, exc: Exception) -> Response:
        if not is_page_path(request.url.path):
            return await _answer(api_domain, request, exc)
        assert isinstance(exc, DomainError)
        if exc.audit_action:
            await request.app.state.record_denial(request, exc)
        if exc.status == 401:
            return _to_sign_in(request, expired=True)
        lang = page_language(request)
        text = api_translate(exc.detail_key, lang, **exc.params) if exc.detail_key else None
        return error_page(request, exc.status, None if exc.status == 404 else text)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not is_page_path(request.url.path):
            return await _answer(api_validation, request, exc)
        assert isinstance(exc, RequestValidationError)
        # A malformed address (a code that is not a code) is a page that does not exist.
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, 404)
        return error_page(request, 422, api_translate("validation.detail", page_language(request)))

    async def http_error(request: Request, exc: Exception) -> Response:
        if not is_page_path(request.url.path):
            return await _answer(api_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405):
            return error_page(request, 404)
        return error_page(request, exc.status_code)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
