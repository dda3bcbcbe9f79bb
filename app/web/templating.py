"""Jinja2 rendering of pages: the environment, its filters and globals, and `render`."""

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.accounts.actor import Actor
from app.web.csrf import CSRF_FIELD, CSRF_HEADER, csrf_token
from app.web.formatting import format_date, format_datetime, format_number, format_percent
from app.web.i18n import page_language, translate

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

_loader = FileSystemLoader([str(TEMPLATES_DIR)])
env = Environment(
    loader=_loader,
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def add_templates(directory: Path) -> None:
    """Let a page package (the field app, the learner's pages) keep templates of its own."""
    if str(directory) not in _loader.searchpath:
        _loader.searchpath.append(str(directory))


@cache
def _digest(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """The address of a static file; our own files carry their content's hash, so they may be
    kept for a year (vendor files have their version in their folder's name)."""
    if path.startswith("vendor/"):
        return f"/static/{path}"
    return f"/static/{path}?v={_digest(path)}"


@dataclass(frozen=True)
class NavItem:
    label_key: str
    url_for: Callable[[Actor], str | None]
    order: int


_NAV: list[NavItem] = []


def register_nav(label_key: str, url_for: Callable[[Actor], str | None], order: int) -> None:
    """Add a link to the navigation; `url_for` answers None where the user has no such page."""
    _NAV.append(NavItem(label_key, url_for, order))
    _NAV.sort(key=lambda item: item.order)


def nav_for(actor: Actor | None, lang: str) -> list[tuple[str, str]]:
    if actor is None:
        return []
    links = []
    for item in _NAV:
        url = item.url_for(actor)
        if url is not None:
            links.append((translate(item.label_key, lang), url))
    return links


@pass_context
def _number(context: Context, value: float | None, digits: int = 0) -> str:
    return format_number(value, context.get("lang", "vi"), digits)


@pass_context
def _percent(context: Context, value: float | None, digits: int = 1) -> str:
    return format_percent(value, context.get("lang", "vi"), digits)


@pass_context
def _date(context: Context, value: Any) -> str:
    return format_date(value, context.get("lang", "vi"))


@pass_context
def _datetime(context: Context, value: Any) -> str:
    return format_datetime(value, context.get("lang", "vi"))


env.filters.update(number=_number, percent=_percent, date=_date, datetime=_datetime)
env.globals.update(static_url=static_url, CSRF_FIELD=CSRF_FIELD, CSRF_HEADER=CSRF_HEADER)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page: `template` with the visitor's language, the signed-in user and a CSRF token.

    In templates: `_("key", name=value)` translates, `lang` is "vi" or "en", `actor` is the
    signed-in user (or None), `csrf_token` goes into every form that changes something, and
    the filters `number`, `percent`, `date` and `datetime` write figures the Vietnamese way.
    """
    lang = page_language(request)
    actor: Actor | None = getattr(request.state, "actor", None)

    def _(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    values = {
        "request": request,
        "lang": lang,
        "_": _,
        "actor": actor,
        "nav": nav_for(actor, lang),
        "csrf_token": csrf_token(request),
        "current_path": request.url.path,
        **(context or {}),
    }
    body = env.get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
