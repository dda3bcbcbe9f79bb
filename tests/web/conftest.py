"""Browser tests: a live server over this test's database, and Chromium driving it.

- `live_server`: the service in a uvicorn thread on a free port of 127.0.0.1, over the test's
  own database (SQLite and PostgreSQL, like every test), with `create_staff`, `api_headers` and
  `session` helpers.
- `page`: a fresh Chromium page (Debian's `/usr/bin/chromium`, headless) whose relative URLs
  go to the live server. A request to any other host is refused and fails the test, as does a
  page that breaks the Content-Security-Policy.
- `sign_in(page, username)`: signs in through the sign-in form.
- `axe(page)`: runs axe-core on the page and fails on any serious or critical violation.

Mark browser tests `@pytest.mark.browser`; `-m "not browser"` leaves them out.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright
from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from tests.factories import PASSWORD, make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
AXE_JS = Path(
    os.environ.get(
        "AXE_CORE_JS",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "hocvuso-tests/node_modules/axe-core/axe.min.js",
    )
)
# The address the `axe` helper loads axe-core from: answered by the test, never the server.
AXE_URL_PATH = "/__tests__/axe.min.js"


@dataclass
class LiveServer:
    """The service running for real on 127.0.0.1, over this test's database."""

    url: str
    app: FastAPI
    settings: Settings
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = urlsplit(self.url).netloc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the server's database, for arranging data and checking it."""
        engine = make_engine(self.settings.database_url, pool_size=1)
        try:
            with Session(engine, expire_on_commit=False) as db:
                yield db
        finally:
            engine.dispose()

    def create_staff(
        self,
        username: str,
        role: Role,
        *,
        province_code: str | None = None,
        commune_code: str | None = None,
    ) -> User:
        """A staff account (password `tests.factories.PASSWORD`); team members get a team."""
        with self.session() as db:
            return make_user(
                db,
                SimpleNamespace(app=self.app),  # type: ignore[arg-type]
                username=username,
                role=role,
                province_code=province_code,
                commune_code=commune_code,
            )

    def api_headers(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Bearer headers for the API, signed in over HTTP like any client."""
        response = httpx.post(
            self.url + "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, **kwargs)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The service on a free port, in a thread, for as long as the test runs."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    live_settings = settings.model_copy(update={"public_base_url": url})
    app = create_app(live_settings)
    # The service's own HTTP clients (VNeID mock, its keys) stay in-process, as in `client`.
    app.state.http_transport = httpx.ASGITransport(app=app)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=url, app=app, settings=live_settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` "
            '(scripts/test does it), or deselect browser tests with -m "not browser"'
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class PageGuard:
    foreign_requests: list[str] = field(default_factory=list)
    policy_violations: list[str] = field(default_factory=list)


@pytest.fixture
def page_guard() -> PageGuard:
    return PageGuard()


def _same_host(url: str, host: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.netloc == host


def new_page(browser: Browser, live_server: LiveServer, guard: PageGuard, **options: Any) -> Page:
    """A page in a fresh browser context, guarded (see `page`); `options` go to the context."""
    options.setdefault("locale", "vi-VN")
    context = browser.new_context(base_url=live_server.url, **options)

    def refuse_other_hosts(route: Route) -> None:
        if _same_host(route.request.url, live_server.host):
            route.fallback()
        else:
            guard.foreign_requests.append(route.request.url)
            route.abort()

    def watch_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            guard.policy_violations.append(message.text)

    context.route("**/*", refuse_other_hosts)
    page = context.new_page()
    page.on("console", watch_console)
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, page_guard: PageGuard) -> Iterator[Page]:
    """A Chromium page on the live server; fails the test on a request to another host."""
    tab = new_page(browser, live_server, page_guard)
    yield tab
    tab.context.close()
    assert not page_guard.foreign_requests, (
        f"requests left the service's host: {page_guard.foreign_requests}"
    )
    assert not page_guard.policy_violations, (
        f"the page broke its Content-Security-Policy: {page_guard.policy_violations}"
    )


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form and wait for the page it leads to."""
    page.goto("/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action='/sign-in'] button[type=submit]")


@cache
def _axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(
            f"axe-core not found at {AXE_JS}: scripts/test installs it "
            f"(npm install --prefix {AXE_JS.parents[2]} axe-core)"
        )
    return AXE_JS.read_text()


def axe(page: Page, *, exclude: tuple[str, ...] = ()) -> None:
    """Run axe-core on the page as it is now; fail on serious or critical violations."""
    page.route(
        "**" + AXE_URL_PATH,
        lambda route: route.fulfill(body=_axe_source(), content_type="text/javascript"),
    )
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL_PATH)
    results = page.evaluate(
        """(exclude) => window.axe.run(
              {include: [document], exclude: exclude.map((s) => [s])},
              {resultTypes: ['violations']})""",
        list(exclude),
    )
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"axe-core on {page.url}:\n" + "\n".join(serious)
