"""The field app's shell: page, manifest, service worker, the rules it checks with, its files.

The shell holds no personal data (that stays in the phone's IndexedDB), so it can be cached by
the service worker and opened with no network.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from app.accounts.actor import Actor
from app.accounts.deps import actor_from, actor_read
from app.accounts.models import Role
from app.core.db import SessionDep, read_columns
from app.core.errors import NotFound, Unauthorized
from app.core.i18n import translate
from app.core.problems import language_of, problem_response
from app.web.csrf import csrf_token
from app.web.field.rules import rules_document
from app.web.i18n import register_messages
from app.web.session import end_session, session_user_id
from app.web.templating import register_nav

STATIC = Path(__file__).with_name("static")
VENDOR = Path(__file__).parent.parent / "static" / "vendor"
IDB = "idb-8.0.4/index.js"

# The files the app's own modules and styles are made of, served under /field/static/.
APP_FILES = {
    "app.js": "text/javascript",
    "outbox.js": "text/javascript",
    "rules.js": "text/javascript",
    "store.js": "text/javascript",
    "texts.js": "text/javascript",
    "field.css": "text/css",
    "icon.svg": "image/svg+xml",
}
# Everything the service worker keeps so the app opens offline.
SHELL = [
    "/field/",
    "/field/manifest.webmanifest",
    "/field/rules.json",
    *(f"/field/static/{name}" for name in APP_FILES),
    f"/static/vendor/{IDB}",
]

# The pages' middleware adds the security headers (CSP and the rest). The shell holds no
# personal data, so it may be stored; the service worker, not the HTTP cache, keeps the offline
# copy, so every answer is revalidated.
HEADERS = {"Cache-Control": "no-cache"}
# The session answers hold a token: never stored anywhere.
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(prefix="/field", include_in_schema=False)


def _field_link(actor: Actor) -> str | None:
    # The commune's own people use the app; a commune admin's root is the dashboard, one link
    # away from it.
    if actor.role in (Role.team_member, Role.commune_admin) and actor.commune_code:
        return "/field/"
    return None


register_messages({"nav.field": ("Sổ tay tổ công nghệ số", "Field app")})
register_nav("nav.field", _field_link, order=10)


@cache
def _rules_json() -> bytes:
    return json.dumps(rules_document(), ensure_ascii=False, separators=(",", ":")).encode()


@cache
def shell_version() -> str:
    """A digest of every shell file: a changed file makes a new worker, which re-caches."""
    digest = hashlib.sha256(_rules_json())
    for path in [STATIC / "index.html", STATIC / "manifest.webmanifest", VENDOR / IDB]:
        digest.update(path.read_bytes())
    for name in sorted(APP_FILES):
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:16]


@router.get("/")
def field_app() -> FileResponse:
    """The field app's page."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    return FileResponse(
        STATIC / "manifest.webmanifest", media_type="application/manifest+json", headers=HEADERS
    )


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, scoped to /field/, with the shell's list and version."""
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__VERSION__", shell_version()).replace("__SHELL__", json.dumps(SHELL))
    return Response(source, media_type="text/javascript", headers=HEADERS)


@router.get("/rules.json")
def rules() -> Response:
    """The learner rules the phone checks before sending (see `app.web.field.rules`)."""
    return Response(_rules_json(), media_type="application/json", headers=HEADERS)


@router.get("/static/{name}")
def app_file(name: str) -> FileResponse:
    media_type = APP_FILES.get(name)
    if media_type is None:
        raise NotFound()
    return FileResponse(STATIC / name, media_type=media_type, headers=HEADERS)


# The app and the staff pages share one sign-in: a team member signed in on the pages (the
# cookie session) takes the app's bearer token from it without typing the password again. The
# exchange is a page request like any form: same origin, CSRF token in `X-CSRF-Token`.


@router.get("/session")
def session_csrf(request: Request) -> JSONResponse:
    """The CSRF token the app's session requests carry (readable by this site's scripts only)."""
    return JSONResponse({"csrf_token": csrf_token(request)}, headers=NO_STORE)


@router.post("/session")
def session_token(request: Request, session: SessionDep) -> Response:
    """The API's bearer token for the team member the browser session names; 401 without one.

    The account is read as a bearer token's would be: a deactivated one gets nothing.
    """
    user_id = session_user_id(request)
    try:
        if user_id is None:
            raise Unauthorized()
        actor = actor_from(request, read_columns(session, *actor_read(user_id)))
    except Unauthorized as exc:
        # Answered as the API answers it: the app reads problem+json, not a sign-in page.
        lang = language_of(request)
        return problem_response(
            request,
            status=exc.status,
            slug=exc.slug,
            title=translate(exc.title_key, lang),
            detail=translate("unauthorized.detail", lang),
            headers=NO_STORE,
        )
    tokens = request.app.state.access_tokens
    token = tokens.issue(f"user:{actor.user_id}", {"role": actor.role.value})
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(tokens.lifetime.total_seconds()),
    }
    return JSONResponse(body, headers=NO_STORE)


@router.delete("/session", status_code=204)
def end_browser_session(request: Request) -> Response:
    """Signing out of the app signs the browser out of the pages too, or the next start would
    take the session straight back."""
    response = Response(status_code=204, headers=NO_STORE)
    end_session(response, request)
    return response
