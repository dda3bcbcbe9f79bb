"""Sign-in, sign-out, the language switch and changing one's own password."""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts
from app.accounts.deps import actor_from, actor_read
from app.accounts.models import User
from app.accounts.schemas import PasswordChange
from app.core.addresses import request_client_address
from app.core.db import SessionDep, read_columns, request_session
from app.core.errors import DomainError, TooManyRequests, Unauthorized
from app.web.forms import domain_errors, validation_errors
from app.web.i18n import LANGUAGE_COOKIE, page_language, translate
from app.web.learner.session import session_learner_id
from app.web.session import (
    PageActor,
    SignInRequired,
    end_session,
    home_url,
    safe_next,
    session_user_id,
    start_session,
)
from app.web.templating import render

router = APIRouter(include_in_schema=False)

SIGN_IN = "auth/sign_in.html"


@router.get("/")
def home(request: Request, session: SessionDep) -> RedirectResponse:
    """To the sign-in page, or to the signed-in person's own place."""
    user_id = session_user_id(request)
    if user_id is not None:
        try:
            actor = actor_from(request, read_columns(session, *actor_read(user_id)))
        except Unauthorized:
            pass
        else:
            return RedirectResponse(home_url(actor), status_code=303)
    elif session_learner_id(request) is not None:
        return RedirectResponse("/me", status_code=303)
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(
    request: Request, next: str | None = None, expired: bool = False, signed_out: bool = False
) -> Response:
    """The sign-in form."""
    lang = page_language(request)
    notice = None
    if expired:
        notice = translate("sign_in.expired", lang)
    elif signed_out:
        notice = translate("sign_in.signed_out", lang)
    return render(
        request,
        SIGN_IN,
        {"errors": {}, "message": None, "username": "", "next": safe_next(next), "notice": notice},
    )


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Check the credentials with the API's sign-in service (and its throttling)."""
    lang = page_language(request)
    target = safe_next(next)
    context = {"username": username, "next": target, "notice": None, "message": None}
    if not username.strip() or not password:
        missing = translate("sign_in.missing", lang)
        errors = {}
        if not username.strip():
            errors["username"] = missing
        if not password:
            errors["password"] = missing
        return render(request, SIGN_IN, {**context, "errors": errors}, status_code=422)
    settings = request.app.state.settings

    def check() -> User:
        with request_session(request) as session:
            user = accounts.authenticate(
                session,
                engine=request.app.state.engine,
                settings=settings,
                passwords=request.app.state.passwords,
                username=username,
                password=password,
                address=request_client_address(request),
            )
            session.commit()
            return user

    try:
        user = await run_in_threadpool(check)
    except DomainError as exc:
        if exc.audit_action:
            await request.app.state.record_denial(request, exc)
        message = translate(exc.detail_key or exc.title_key, lang, **exc.params)
        headers = exc.headers if isinstance(exc, TooManyRequests) else {}
        return render(
            request,
            SIGN_IN,
            {**context, "errors": {}, "message": message},
            status_code=exc.status,
            headers=headers,
        )
    assert user.id is not None
    response = RedirectResponse(target or "/", status_code=303)
    start_session(response, request, user_id=user.id, role=user.role, epoch=user.session_epoch)
    return response


@router.post("/sign-out")
def sign_out(request: Request) -> RedirectResponse:
    """End the session on this browser."""
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    end_session(response, request)
    return response


@router.get("/lang/{code}")
def switch_language(
    request: Request, code: Annotated[str, Path(pattern="^(vi|en)$")], next: str | None = None
) -> RedirectResponse:
    """Show the pages in Vietnamese or English from now on."""
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/", httponly=True
    )
    return response


PASSWORD = "auth/password.html"


@router.get("/account/password")
def password_page(request: Request, actor: PageActor, done: bool = False) -> Response:
    """The form to change one's own password."""
    return render(request, PASSWORD, {"errors": {}, "done": done})


@router.post("/account/password")
async def change_password(
    request: Request,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    """Change one's own password through the API's service; errors beside their fields."""
    lang = page_language(request)
    user_id = session_user_id(request)
    if user_id is None:
        raise SignInRequired(expired=True)
    try:
        data = PasswordChange(current_password=current_password, new_password=new_password)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
        return render(request, PASSWORD, {"errors": errors, "done": False}, status_code=422)

    def change() -> tuple[str, int]:
        with request_session(request) as session:
            actor = actor_from(request, read_columns(session, *actor_read(user_id)))
            user = accounts.change_password(
                session,
                actor=actor,
                engine=request.app.state.engine,
                settings=request.app.state.settings,
                passwords=request.app.state.passwords,
                data=data,
                address=request_client_address(request),
            )
            session.commit()
            return user.role, user.session_epoch

    try:
        role, epoch = await run_in_threadpool(change)
    except DomainError as exc:
        if exc.status == 401:
            raise SignInRequired(expired=True) from None
        if exc.audit_action:
            await request.app.state.record_denial(request, exc)
        return render(
            request,
            PASSWORD,
            {"errors": domain_errors(exc, lang), "done": False},
            status_code=exc.status,
            headers=exc.headers,
        )
    # The new password ended every session of the account: this browser's goes on afresh.
    response = RedirectResponse("/account/password?done=1", status_code=303)
    start_session(response, request, user_id=user_id, role=role, epoch=epoch)
    return response
