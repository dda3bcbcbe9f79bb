"""The mock as an OpenID Connect provider: discovery and the authorization endpoint."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.core.db import SessionDep
from app.core.errors import TooManyRequests, Unauthorized
from app.core.i18n import translate
from app.vneid_mock import oidc, pages, service

router = APIRouter()
CITIZEN_ID = re.compile(r"[0-9]{12}")


@router.get("/.well-known/openid-configuration", tags=["mock-vneid"])
def openid_configuration(request: Request) -> dict[str, Any]:
    """Thông tin nhà cung cấp OpenID / The provider's metadata (RFC 8414, OpenID Discovery)."""
    return oidc.discovery(request.app.state.settings.vneid_issuer)


@router.get("/static/sign-in.css", include_in_schema=False)
def sign_in_stylesheet() -> Response:
    return pages.stylesheet()


@router.get("/authorize", tags=["mock-vneid"], response_class=Response)
def authorize(request: Request) -> Response:
    """Trang đăng nhập VNeID / The authorization endpoint: the citizen's sign-in page.

    Authorization code flow with PKCE (S256) only; the request's errors go back to the
    client's registered redirect URI, or show a page when the client is unknown.
    """
    params = dict(request.query_params)
    lang = pages.language(params.get("ui_locales"), request.headers.get("accept-language"))
    try:
        checked = oidc.check_request(request.app.state.settings, params)
    except oidc.BadAuthorizationRequest as exc:
        return _refusal(exc, lang)
    return pages.sign_in_page(
        lang=lang,
        action="authorize",
        hidden=_hidden(checked, params),
        client_name=checked.client_id,
        cancel_url=oidc.cancel_url(checked, issuer=request.app.state.settings.vneid_issuer),
    )


FormText = Annotated[str, Form()]


@router.post("/authorize", tags=["mock-vneid"], response_class=Response)
def authorize_sign_in(
    request: Request,
    session: SessionDep,
    username: FormText = "",
    password: FormText = "",
    response_type: FormText = "",
    scope: FormText = "",
    client_id: FormText = "",
    redirect_uri: FormText = "",
    state: FormText = "",
    nonce: FormText = "",
    code_challenge: FormText = "",
    code_challenge_method: FormText = "",
    ui_locales: FormText = "",
) -> Response:
    """Đăng nhập từ trang VNeID / The sign-in form: on success, back to the client with a code."""
    params = {
        "response_type": response_type,
        "scope": scope,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method,
        "ui_locales": ui_locales,
    }
    lang = pages.language(ui_locales, request.headers.get("accept-language"))
    app_state = request.app.state
    try:
        checked = oidc.check_request(app_state.settings, params)
    except oidc.BadAuthorizationRequest as exc:
        return _refusal(exc, lang)

    def again(message: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        return pages.sign_in_page(
            lang=lang,
            action="authorize",
            hidden=_hidden(checked, params),
            client_name=checked.client_id,
            cancel_url=oidc.cancel_url(checked, issuer=request.app.state.settings.vneid_issuer),
            error=message,
            status_code=status_code,
            headers=headers,
        )

    citizen_id = username.strip()
    if not CITIZEN_ID.fullmatch(citizen_id):
        return again(pages.text("bad_username", lang), 422)
    try:
        citizen = service.checked_sign_in(
            engine=app_state.engine,
            index=app_state.citizen_index,
            settings=app_state.settings,
            citizen_id=citizen_id,
            passcode=password,
            address=request.client.host if request.client else None,
        )
    except TooManyRequests as exc:
        return again(translate(exc.detail_key or "", lang, **exc.params), 429, exc.headers)
    except Unauthorized as exc:
        return again(translate(exc.detail_key or "", lang), 401)
    code = oidc.issue_code(
        session,
        request=checked,
        citizen=citizen,
        citizen_id=citizen_id,
        seal=app_state.citizen_seal,
    )
    location = oidc.redirect_with_code(checked, code, issuer=app_state.settings.vneid_issuer)
    return RedirectResponse(location, status_code=303)


def _hidden(checked: oidc.AuthorizationRequest, params: dict[str, str]) -> dict[str, str]:
    hidden = checked.hidden_fields()
    if params.get("ui_locales"):
        hidden["ui_locales"] = params["ui_locales"][:50]
    return hidden


def _refusal(exc: oidc.BadAuthorizationRequest, lang: str) -> Response:
    if exc.redirect is not None:
        return RedirectResponse(exc.redirect, status_code=303)
    return pages.error_page(lang=lang, error=exc.error)
