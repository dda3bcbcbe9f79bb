"""Field-app benchmark: the first load's bytes on the wire, the start with no network, and a
full outbox of 1,000 records sent on a throttled network.

    python -m benchmarks.field_app

A real `uvicorn app.main:app` serves a fresh, migrated and seeded SQLite database (or the
PostgreSQL one given with --database-url); Debian's Chromium (headless, through Playwright)
plays the phone. See BENCHMARKS.md for what it measures and the figures.
"""

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, sync_playwright
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, Team
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords
from app.seed import seed_all

ROOT = Path(__file__).resolve().parent.parent
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
COMMUNE = "00070"
USERNAME = "doi-vien"
PASSWORD = "mat-khau-rat-dai-123"
PHONE = {"width": 360, "height": 740}
# A slow mobile link: 400 ms round trips, 400 kbit/s each way.
THROTTLE = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}


def prepare(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    settings = Settings(database_url=database_url, _env_file=None)
    with Session(engine) as session:
        seed_all(session)
        team = Team(province_code="01", commune_code=COMMUNE, name="Tổ công nghệ số")
        session.add(team)
        session.flush()
        accounts.create_user(
            session,
            actor=None,
            passwords=Passwords(settings),
            data=UserCreate(
                username=USERNAME,
                password=PASSWORD,
                full_name="Đội viên tổ công nghệ số",
                role=Role.team_member,
                commune_code=COMMUNE,
                team_id=team.id,
            ),
        )
        session.commit()
    engine.dispose()


@contextmanager
def serving(database_url: str, work: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KEYS_DIR": str(work / "keys"),
        "IMPORTS_DIR": str(work / "imports"),
    }
    env.pop("ADMIN_USERNAME", None)
    process = subprocess.Popen(  # noqa: S603
        [
            *(sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"),
            *("--port", str(port), "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def sign_in(page: Page, *, worker: bool = True) -> None:
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#learner-form", state="visible")
    if worker:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def first_load(context: BrowserContext) -> dict[str, int]:
    """Bytes on the wire (headers and compressed bodies) the page fetches on its first visit."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.update({e["requestId"]: e["request"]["url"]})
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.update({e["requestId"]: int(e["encodedDataLength"])}),
    )
    page.goto("/field/")
    page.wait_for_selector("#signin-form", state="visible")
    page.wait_for_load_state("networkidle")
    shell = sum(sizes.values())
    shell_requests = len(sizes)
    sign_in(page)
    page.wait_for_load_state("networkidle")
    page.close()
    return {
        "shell_bytes": shell,
        "shell_requests": shell_requests,
        "signed_in_bytes": sum(sizes.values()),
        "signed_in_requests": len(sizes),
    }


def offline_starts(browser_type: Any, url: str, profile: Path, runs: int) -> list[float]:
    """Milliseconds from navigation to a usable form, the browser restarted offline each time."""

    def launch() -> BrowserContext:
        return browser_type.launch_persistent_context(  # type: ignore[no-any-return]
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=url,
            viewport=PHONE,
            is_mobile=True,
        )

    context = launch()
    page = context.pages[0]
    page.goto("/field/")
    sign_in(page)
    context.close()
    timings = []
    for _ in range(runs):
        context = launch()
        context.set_offline(True)
        page = context.pages[0]
        page.goto("/field/")
        page.wait_for_selector("#learner-form", state="visible")
        timings.append(
            page.evaluate("() => performance.getEntriesByName('field-ready')[0].startTime")
        )
        context.close()
    return timings


def send_outbox(
    context: BrowserContext, records: int, *, first_serial: int, throttled: bool
) -> dict[str, float]:
    """Seconds from the app's start to a full outbox of new learners sent, on a slow link."""
    page = context.new_page()
    page.goto("/field/")
    sign_in(page, worker=False)
    # Filled from another page of the app, so the app itself does not send as they come.
    page.goto("/field/rules.json")
    page.evaluate(
        """async ([count, first]) => {
            const store = await import("/field/static/store.js");
            const db = await store.open();
            for (let i = 0; i < count; i++) {
              const serial = String(first + i).padStart(6, "0");
              await store.saveRecord(db, {
                client_id: crypto.randomUUID(), kind: "learner", state: "saved",
                label: `Nguyễn Văn Học ${i}`,
                body: {
                  citizen_id: `001085${serial}`, full_name: `Nguyễn Văn Học ${i}`,
                  birth_date: "1985-04-12", sex: "male", groups: ["citizen"],
                  commune_code: "00070",
                  consent: { purpose: "Theo dõi kết quả học kỹ năng số",
                             given_at: new Date().toISOString() },
                },
              });
            }
            db.close();
        }""",
        [records, first_serial],
    )
    uploaded: list[int] = []
    page.on(
        "request",
        lambda r: (
            uploaded.append(len(r.post_data_buffer or b""))
            if r.url.endswith("/api/v1/sync")
            else None
        ),
    )
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if throttled:
        cdp.send("Network.emulateNetworkConditions", THROTTLE)
    page.goto("/field/")
    page.wait_for_function(
        "() => document.querySelector('#send-status').textContent === 'Đã gửi xong.'",
        timeout=600_000,
        polling=50,
    )
    seconds = page.evaluate(
        "() => (performance.now() - performance.getEntriesByName('field-ready')[0].startTime)"
        " / 1000"
    )
    left = page.evaluate("() => document.querySelector('#count').textContent")
    assert left == "0", f"{left} records were not sent"
    page.close()
    return {"seconds": seconds, "request_kb": sum(uploaded) / 1000, "batches": len(uploaded)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database (default: a new SQLite)")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="field-bench-") as tmp:
        work = Path(tmp)
        database_url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        prepare(database_url)
        with serving(database_url, work) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            print(
                f"chromium {browser.version}, server {url}, database {database_url.split(':')[0]}"
            )
            context = browser.new_context(base_url=url, viewport=PHONE, is_mobile=True)
            load = first_load(context)
            context.close()
            print(
                f"first load, shell only: {load['shell_bytes'] / 1000:.1f} kB in"
                f" {load['shell_requests']} requests (limit 250 KB)"
            )
            print(
                f"first load with sign-in and the commune's data: "
                f"{load['signed_in_bytes'] / 1000:.1f} kB in {load['signed_in_requests']} requests"
            )
            starts = offline_starts(playwright.chromium, url, work / "profile", args.starts)
            print(
                f"start offline to a usable form ({len(starts)} browser restarts): median"
                f" {statistics.median(starts):.0f} ms, max {max(starts):.0f} ms (limit 1,000 ms)"
            )
            for throttled, first_serial in ((False, 100_000), (True, 200_000)):
                context = browser.new_context(
                    base_url=url, viewport=PHONE, is_mobile=True, service_workers="block"
                )
                sent = send_outbox(
                    context, args.records, first_serial=first_serial, throttled=throttled
                )
                context.close()
                link = "a throttled link (400 ms, 400 kbit/s)" if throttled else "the loopback"
                print(
                    f"{args.records} records sent on {link}: {sent['seconds']:.1f} s,"
                    f" {sent['request_kb']:.0f} kB up in {sent['batches']:.0f} request(s)"
                )
            browser.close()


if __name__ == "__main__":
    main()
