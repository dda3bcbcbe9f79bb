"""Pages on a slow line: compressed bytes of a first load, and time to a rendered dashboard.

    python -m benchmarks.pages [--profile slow-3g|devtools-slow-3g] [--runs 3] [--only PART ...]

Builds a fresh SQLite database (migrated and seeded: 34 provinces, 3,321 communes, the
national targets), adds a province admin's worth of villages and learners to one commune,
serves it with uvicorn on 127.0.0.1, and drives Debian's Chromium (headless, through
Playwright) with the network throttled through CDP `Network.emulateNetworkConditions`:

- bytes: every response's encoded (compressed) size, headers included, for a first load with
  an empty cache, of the national, a province's and a commune's dashboard, and of every other
  staff page the service has (work pages: the commune's, the province's and the nation's, a
  village's dashboard, a learner, a certificate, one's own password);
- time to a rendered dashboard: from navigation to the figures on screen (the indicators'
  first contentful paint) and to every chart drawn, first load and with the cache warm.
"""

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords
from app.main import create_app
from app.seed import seed_all
from app.web.router import router as page_router

ADMIN, PASSWORD = "bench_admin", "bench-password-123"
PROVINCE, COMMUNE = "01", "00070"  # Hà Nội (126 communes), Phường Hoàn Kiếm
VILLAGES, LEARNERS = 12, 120
CHROMIUM = "/usr/bin/chromium"
# latency in ms, throughput in bytes/s.
PROFILES = {
    # WebPageTest's "3G Slow": 400 ms round trip, 400 kbit/s each way.
    "slow-3g": {"latency": 400, "download": 400_000 / 8, "upload": 400_000 / 8},
    # Chrome DevTools' "Slow 3G" preset: 2 s round trip, 400 kbit/s (500 × 0.8) each way.
    "devtools-slow-3g": {
        "latency": 2000,
        "download": 500_000 / 8 * 0.8,
        "upload": 500_000 / 8 * 0.8,
    },
}
CITIZEN_COURSES = [
    "CB-THIETBI",
    "CB-THONGTIN",
    "CB-GIAOTIEP",
    "CB-ANTOAN",
    "CB-VNEID",
    "CB-THANHTOAN",
    "CB-AI",
]


def build_database(directory: Path) -> Settings:
    url = f"sqlite:///{directory / 'pages.db'}"
    upgrade_to_head(url)
    settings = Settings(
        environment="test",
        database_url=url,
        keys_dir=directory / "keys",
        imports_dir=directory / "imports",
        delivery_worker=False,
        recount_worker=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(url)
    with Session(engine) as session:
        seed_all(session)
        accounts.create_user(
            session,
            actor=None,
            passwords=Passwords(settings),
            data=UserCreate(
                username=ADMIN, password=PASSWORD, full_name="Quản trị", role=Role.national_admin
            ),
        )
        session.commit()
    engine.dispose()
    return settings


def add_learners(url: str) -> dict[str, str]:
    """Villages and learners of one commune, through the API; a third certified. Answers the
    ids the work pages with an id need (a village, a certified learner, its certificate)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        villages = []
        ids: dict[str, str] = {}
        for number in range(1, VILLAGES + 1):
            response = client.post(
                f"/api/v1/communes/{COMMUNE}/villages",
                json={"name": f"Tổ dân phố số {number}"},
                headers=headers,
            )
            villages.append(response.json()["id"])
        for serial in range(1, LEARNERS + 1):
            birth_year = 1960 + serial % 40
            response = client.post(
                "/api/v1/learners",
                json={
                    "citizen_id": f"0010{birth_year % 100:02d}{serial:06d}",
                    "full_name": "Nguyễn Văn An",
                    "birth_date": f"{birth_year}-04-12",
                    "sex": "male",
                    "commune_code": COMMUNE,
                    "village_id": villages[serial % VILLAGES],
                    "groups": ["citizen"],
                    "consent": {"purpose": "Theo dõi", "given_at": "2026-03-01T02:00:00+00:00"},
                },
                headers=headers,
            )
            response.raise_for_status()
            if serial % 3 == 0:
                ids["learner_id"] = response.json()["id"]
                for course in CITIZEN_COURSES:
                    client.post(
                        "/api/v1/completions",
                        json={
                            "learner_id": response.json()["id"],
                            "course_code": course,
                            "completed_at": datetime.now(UTC).isoformat(),
                            "score": 90,
                            "method": "class",
                        },
                        headers=headers,
                    ).raise_for_status()
        certificates = client.get(
            f"/api/v1/learners/{ids['learner_id']}/certificates", headers=headers
        ).json()["items"]
        ids["certificate_id"] = certificates[0]["id"]
        ids["village_id"] = str(villages[0])
    return ids


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings.model_copy(update={"public_base_url": url}))
    app.state.http_transport = httpx.ASGITransport(app=app)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(15)


def _page_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the pages' router, through the routers it includes."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _page_routes(route.original_router.routes)
        else:
            yield route


def work_pages(ids: dict[str, str]) -> list[str]:
    """Every other staff page (GET routes of the pages' router under /communes, /provinces,
    /national and /account), for the commune, its province and the nation; ids filled in."""
    values = {"code": "", "village_id": ids["village_id"], "learner_id": ids["learner_id"]}
    values["certificate_id"] = ids["certificate_id"]
    paths = []
    for route in _page_routes(page_router.routes):
        path = route.path
        if "GET" not in getattr(route, "methods", ()) or "report." in path:
            continue
        if not path.startswith(("/communes/", "/provinces/", "/national/", "/account/")):
            continue
        if path in ("/communes/{code}", "/provinces/{code}"):  # dashboards: measured first
            continue
        if "{import_id}" in path:  # an import's page needs an upload of its own
            continue
        code = PROVINCE if path.startswith("/provinces/") else COMMUNE
        paths.append(path.format(**values | {"code": code}))
    return sorted(set(paths))


def signed_in_state(browser: Browser, url: str) -> Any:
    context = browser.new_context(base_url=url)
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/sign-in'] button[type=submit]")
    state = context.storage_state()
    context.close()
    return state


# The first contentful paint, once the browser has recorded it (NaN if it never comes).
FIRST_CONTENTFUL_PAINT = """() => new Promise((resolve) => {
  setTimeout(() => resolve(NaN), 10000);
  new PerformanceObserver((list, observer) => {
    const entry = list.getEntriesByName("first-contentful-paint")[0];
    if (entry) { observer.disconnect(); resolve(entry.startTime); }
  }).observe({ type: "paint", buffered: true });
})"""


class Throttled:
    """A page whose network is throttled, counting the encoded bytes of every response."""

    def __init__(self, browser: Browser, url: str, state: Any, profile: dict[str, float]) -> None:
        self.context = browser.new_context(base_url=url, storage_state=state)
        self.page: Page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": profile["latency"],
                "downloadThroughput": profile["download"],
                "uploadThroughput": profile["upload"],
            },
        )
        self.bytes = 0
        self.cdp.on("Network.loadingFinished", self._count)

    def _count(self, event: dict[str, Any]) -> None:
        self.bytes += int(event["encodedDataLength"])

    def load(self, path: str, *, wait_charts: bool) -> tuple[int, float, float]:
        """Bytes, ms to the first contentful paint (the figures: they come with the page),
        ms to every chart drawn (or to the load event where there is no chart)."""
        self.bytes = 0
        self.page.goto(path, wait_until="load")
        if wait_charts:
            self.page.wait_for_selector("html[data-charts-drawn]", state="attached")
            drawn = self.page.evaluate(
                "() => performance.getEntriesByName('charts-drawn')[0].startTime"
            )
        else:
            drawn = self.page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
        painted = self.page.evaluate(FIRST_CONTENTFUL_PAINT)
        self.page.wait_for_load_state("networkidle")
        return self.bytes, float(painted), float(drawn)

    def close(self) -> None:
        self.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="slow-3g")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", nargs="*", default=[], help="only the pages whose address holds one of these"
    )
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    dashboards = {
        "commune": f"/communes/{COMMUNE}",
        "province": f"/provinces/{PROVINCE}",
        "nation": "/national",
    }
    with tempfile.TemporaryDirectory() as directory:
        settings = build_database(Path(directory))
        with serve(settings) as url, sync_playwright() as playwright:
            others = work_pages(add_learners(url))
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            state = signed_in_state(browser, url)
            print(f"profile {args.profile}: {profile}; {args.runs} runs, median")
            print(
                f"{'page':<34} {'first KB':>9} {'figures ms':>11} {'charts|load':>11}"
                f" {'cached KB':>10} {'figures ms':>11} {'charts|load':>11}"
            )
            for name, path in [*dashboards.items(), *((p, p) for p in others)]:
                if args.only and not any(part in path for part in args.only):
                    continue
                # A village's page is a dashboard too: its charts are waited for.
                is_dashboard = name in dashboards or "/villages/" in path
                first: list[tuple[int, float, float]] = []
                cached: list[tuple[int, float, float]] = []
                for _ in range(args.runs):
                    page = Throttled(browser, url, state, profile)
                    first.append(page.load(path, wait_charts=is_dashboard))
                    cached.append(page.load(path, wait_charts=is_dashboard))
                    page.close()

                def median(rows: list[tuple[int, float, float]], i: int) -> float:
                    return statistics.median(row[i] for row in rows)

                print(
                    f"{name + ' ' + path if name in dashboards else path:<34}"
                    f" {median(first, 0) / 1024:>9.1f} {median(first, 1):>11.0f}"
                    f" {median(first, 2):>11.0f} {median(cached, 0) / 1024:>10.1f}"
                    f" {median(cached, 1):>11.0f} {median(cached, 2):>11.0f}"
                )
            browser.close()


if __name__ == "__main__":
    main()
