"""Every staff page, found from the pages' router: accessible, fits a phone, used by keyboard.

The pages are listed from the routes themselves, so a page added later is checked too (and a
route with an id this file does not know fails here until it is given one).
"""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.web.router import router as page_router
from tests.factories import HN, HN_HOAN_KIEM, PASSWORD
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes
from tests.web.conftest import LiveServer, PageGuard, axe, new_page, sign_in
from tests.web.helpers import arrange_hanoi

pytestmark = pytest.mark.browser

# GET routes of the pages' router that are not staff pages: files, fragments, redirects, the
# learner's own pages, the field app, and /docs and /redoc (each checked by their own tests).
NOT_STAFF_PAGES = re.compile(
    r"report\.|/rejected\.|/progress$|^/lang/|^/field/|^/me\b|^/sign-in/vneid|^/$|^/docs$|^/redoc$"
)
PHONE = {"width": 360, "height": 740}


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _upload(live_server: LiveServer, who: str, kind: str, content: bytes) -> str:
    response = httpx.post(
        live_server.url + "/api/v1/imports",
        data={"kind": kind},
        files={"file": ("tep.csv", content)},
        headers=live_server.api_headers(who),
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _arrange(live_server: LiveServer) -> dict[str, str]:
    """Hà Nội's staff and villages, a certified learner, an import of a commune and one of the
    province: every id a staff page's address can hold."""
    arranged = arrange_hanoi(live_server)
    admin = live_server.api_headers("hk_admin")
    learners = httpx.get(
        live_server.url + "/api/v1/learners",
        params={"commune_code": HN_HOAN_KIEM},
        headers=admin,
    ).json()["items"]
    learner_id = certificate_id = None
    for learner in learners:
        certificates = httpx.get(
            f"{live_server.url}/api/v1/learners/{learner['id']}/certificates", headers=admin
        ).json()["items"]
        if certificates:
            learner_id, certificate_id = learner["id"], certificates[0]["id"]
            break
    assert learner_id and certificate_id
    commune_import = _upload(
        live_server,
        "hk_admin",
        "learners",
        csv_bytes(LEARNER_HEADER_VI, [["123", "Lê Văn Sai", "1990-01-01", "Nam", HN_HOAN_KIEM]]),
    )
    header = ["Mã xã", "Năm", "Người trưởng thành", "CBCCVC", "Học sinh", "Người lao động"]
    province_import = _upload(
        live_server, "hn_admin", "baselines", csv_bytes(header, [[HN_HOAN_KIEM, 2026, 9, 1, 1, 1]])
    )
    return {
        "village_id": str(arranged.villages["Thôn Đông"]),
        "learner_id": str(learner_id),
        "certificate_id": str(certificate_id),
        "commune_import": commune_import,
        "province_import": province_import,
    }


def _staff_pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    """(who opens it, address) for every staff page of the router."""
    pages = []
    for route in _routes(page_router.routes):
        path = route.path
        if "GET" not in getattr(route, "methods", ()) or NOT_STAFF_PAGES.search(path):
            continue
        province = path.startswith("/provinces/")
        who = "national" if path.startswith("/national") else "hn_admin" if province else "hk_admin"
        values = ids | {
            "code": HN if province else HN_HOAN_KIEM,
            "import_id": ids["province_import" if province else "commune_import"],
        }
        pages.append((who, path.format(**values)))
    return pages


def test_every_staff_page_is_accessible_and_fits_a_phone(
    live_server: LiveServer, browser: Browser, page_guard: PageGuard
) -> None:
    ids = _arrange(live_server)
    pages = _staff_pages(ids)
    # The sign-in page and a not-found page are pages too.
    pages += [("", "/sign-in"), ("hk_admin", "/communes/99999")]
    assert len(pages) > 25, pages
    tabs: dict[tuple[str, bool], Page] = {}
    for who, path in pages:
        for phone in (False, True):
            tab = tabs.get((who, phone))
            if tab is None:
                options = {"viewport": PHONE} if phone else {}
                tab = tabs[(who, phone)] = new_page(browser, live_server, page_guard, **options)
                if who:
                    sign_in(tab, who)
            response = tab.goto(path)
            assert response is not None
            assert response.status == (404 if path == "/communes/99999" else 200), path
            expect(tab.locator("h1").first).to_be_visible()
            axe(tab)
            if phone:
                width = tab.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
    for tab in tabs.values():
        tab.context.close()


def _tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_a_keyboard_alone_signs_in_skips_to_the_content_and_sorts_a_table(
    page: Page, live_server: LiveServer
) -> None:
    arrange_hanoi(live_server)
    page.goto("/sign-in")
    _tab_to(page, "input[name=username]")
    page.keyboard.type("hn_admin")
    _tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/provinces/{HN}$"))

    # The first Tab stop skips the header and the navigation.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # The communes' table sorts by a column from the keyboard.
    header = page.locator("#children thead th").nth(1)
    _tab_to(page, "#children thead th:nth-child(2) button")
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", re.compile("^(ascending|descending)$"))
    first = header.get_attribute("aria-sort")
    page.keyboard.press("Enter")
    expect(header).to_have_attribute(
        "aria-sort", "descending" if first == "ascending" else "ascending"
    )

    # A commune one level down, from the keyboard.
    _tab_to(page, f"#children tr[data-code='{HN_HOAN_KIEM}'] a")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
