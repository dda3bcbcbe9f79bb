"""The field app's shell: page, manifest, service worker, the rules it checks with, its files.

The shell holds no personal data (that stays in the phone's IndexedDB), so it can be cached by
the service worker and opened with no network.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from app.core.errors import NotFound
from app.web.field.rules import rules_document

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

router = APIRouter(prefix="/field", include_in_schema=False)


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
