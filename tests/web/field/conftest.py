"""The field app on a phone-sized Chromium whose profile survives a restart."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, PageGuard, _same_host

PHONE = {"width": 360, "height": 740}


class Phone:
    """A phone's browser: `open()` starts it on its own profile, `close()` shuts it down, and
    opening it again is a browser restart (service worker, caches and IndexedDB kept)."""

    def __init__(
        self, browser: Browser, live_server: LiveServer, guard: PageGuard, profile: Path
    ) -> None:
        self.browser = browser
        self.live_server = live_server
        self.guard = guard
        self.profile = profile
        self.context: BrowserContext | None = None

    def open(self, *, offline: bool = False) -> Page:
        context = self.browser.browser_type.launch_persistent_context(
            self.profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=self.live_server.url,
            locale="vi-VN",
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
        )
        self.context = context

        def refuse_other_hosts(route: Route) -> None:
            if _same_host(route.request.url, self.live_server.host):
                route.fallback()
            else:
                self.guard.foreign_requests.append(route.request.url)
                route.abort()

        context.route("**/*", refuse_other_hosts)
        context.set_offline(offline)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda message: (
                self.guard.policy_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto("/field/")
        return page

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture
def phone(
    browser: Browser, live_server: LiveServer, page_guard: PageGuard, tmp_path: Path
) -> Iterator[Phone]:
    device = Phone(browser, live_server, page_guard, tmp_path / "phone-profile")
    yield device
    device.close()
    assert not page_guard.foreign_requests, page_guard.foreign_requests
    assert not page_guard.policy_violations, page_guard.policy_violations


def outbox(page: Page) -> list[dict[str, Any]]:
    """The records kept in the phone's IndexedDB, as the app stored them."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => new Promise((resolve, reject) => {
            const request = indexedDB.open("field-app");
            request.onerror = () => reject(request.error);
            request.onsuccess = () => {
              const all = request.result.transaction("outbox").objectStore("outbox").getAll();
              all.onsuccess = () => { request.result.close(); resolve(all.result); };
            };
        })"""
    )


def change_kept_session(page: Page, **changes: Any) -> None:
    """Changes the session the app keeps in the phone's IndexedDB (its token, its expiry)."""
    page.evaluate(
        """(changes) => new Promise((resolve, reject) => {
            const request = indexedDB.open("field-app");
            request.onerror = () => reject(request.error);
            request.onsuccess = () => {
              const tx = request.result.transaction("meta", "readwrite");
              const meta = tx.objectStore("meta");
              const get = meta.get("session");
              get.onsuccess = () => meta.put({ ...get.result, ...changes }, "session");
              tx.oncomplete = () => { request.result.close(); resolve(); };
            };
        })""",
        changes,
    )


def everything_kept(page: Page) -> str:
    """All the phone keeps for the app (every IndexedDB store and localStorage), as text."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => new Promise((resolve, reject) => {
            const request = indexedDB.open("field-app");
            request.onerror = () => reject(request.error);
            request.onsuccess = () => {
              const db = request.result;
              const names = [...db.objectStoreNames];
              const tx = db.transaction(names);
              const kept = { localStorage: { ...localStorage } };
              for (const name of names) {
                const all = tx.objectStore(name).getAll();
                all.onsuccess = () => { kept[name] = all.result; };
              }
              tx.oncomplete = () => { db.close(); resolve(JSON.stringify(kept)); };
            };
        })"""
    )
