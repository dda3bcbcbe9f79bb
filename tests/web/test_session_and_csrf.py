"""The browser session and CSRF protection, over HTTP; a cross-site post in a real browser."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from app.accounts.models import Role, User
from app.web.csrf import CSRF_FIELD
from app.web.session import SESSION_COOKIE
from tests.factories import HN_HOAN_KIEM, PASSWORD, Staff
from tests.web.conftest import LiveServer, PageGuard, axe, new_page, sign_in

NEW_PASSWORD = "mot-mat-khau-moi-dai"


def _token_of(page_html: str) -> str:
    match = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"', page_html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def _sign_in(client: TestClient, username: str) -> str:
    token = _token_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD, CSRF_FIELD: token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return token


def _api_sign_in(client: TestClient, password: str) -> int:
    return client.post(
        "/api/v1/auth/token", data={"username": "hk_admin", "password": password}
    ).status_code


def test_a_page_form_without_this_sites_token_changes_nothing(
    client: TestClient, staff: Staff
) -> None:
    token = _sign_in(client, "hk_admin")
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    for data, headers in (
        (change, {}),
        ({**change, CSRF_FIELD: "0" * 64}, {}),
        ({**change, CSRF_FIELD: token}, {"Origin": "https://attacker.example"}),
    ):
        response = client.post("/account/password", data=data, headers=headers)
        assert response.status_code == 403
        assert "Biểu mẫu đã hết hạn" in response.text
    assert _api_sign_in(client, PASSWORD) == 200
    # With the token (in the form, or as htmx's header) the change goes through.
    response = client.post(
        "/account/password", data={**change, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert _api_sign_in(client, PASSWORD) == 401
    assert _api_sign_in(client, NEW_PASSWORD) == 200


@pytest.mark.parametrize(
    ("username", "place"),
    [
        ("national", "/national"),
        ("hn_admin", "/provinces/01"),
        ("hk_admin", f"/communes/{HN_HOAN_KIEM}"),
        ("hk_member", "/field/"),
    ],
)
def test_the_front_door_leads_each_person_to_their_own_place(
    client: TestClient, staff: Staff, username: str, place: str
) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    _sign_in(client, username)
    assert client.get("/", follow_redirects=False).headers["location"] == place


def test_the_session_is_no_bearer_token_and_a_bearer_token_is_no_session(
    client: TestClient, staff: Staff
) -> None:
    _sign_in(client, "hk_admin")
    session_token = client.cookies[SESSION_COOKIE]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session_token}"})
    assert me.status_code == 401
    client.cookies.set(SESSION_COOKIE, staff["hk_admin"]["Authorization"].split()[1])
    page = client.get(f"/communes/{HN_HOAN_KIEM}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in?next=")


def test_a_deactivated_account_is_signed_out_at_the_next_click(
    client: TestClient, staff: Staff, session: Session
) -> None:
    _sign_in(client, "hk_admin")
    assert client.get(f"/communes/{HN_HOAN_KIEM}").status_code == 200
    user = session.get(User, staff.users["hk_admin"].id)
    assert user is not None
    user.is_active = False
    session.add(user)
    session.commit()
    page = client.get(f"/communes/{HN_HOAN_KIEM}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/sign-in?next=/communes/{HN_HOAN_KIEM}&expired=1"
    assert f'{SESSION_COOKIE}=""' in page.headers["set-cookie"]


def test_a_session_in_use_is_renewed_and_one_left_alone_ends(
    client: TestClient, staff: Staff
) -> None:
    dashboard = f"/communes/{HN_HOAN_KIEM}"
    with time_machine.travel(datetime(2026, 6, 1, 1, 0, tzinfo=UTC), tick=False) as clock:
        _sign_in(client, "hk_admin")
        first = client.cookies[SESSION_COOKIE]
        clock.shift(timedelta(minutes=20))  # past half of WEB_SESSION_MINUTES (30)
        assert client.get(dashboard).status_code == 200
        assert client.cookies[SESSION_COOKIE] != first
        clock.shift(timedelta(minutes=25))  # 45 minutes after signing in, 25 after renewal
        assert client.get(dashboard, follow_redirects=False).status_code == 200
        clock.shift(timedelta(minutes=31))
        idle = client.get(dashboard, follow_redirects=False)
        assert idle.status_code == 303
        assert idle.headers["location"].endswith("&expired=1")


def test_pages_carry_security_headers_and_assets_are_kept(client: TestClient, staff: Staff) -> None:
    _sign_in(client, "hk_admin")
    page = client.get(f"/communes/{HN_HOAN_KIEM}")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-encoding"] == "gzip"
    assert "<script>" not in page.text and " style=" not in page.text
    vendor = client.get("/static/vendor/htmx.org-2.0.11/htmx.min.js")
    assert vendor.headers["cache-control"] == "public, max-age=31536000, immutable"
    own = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', page.text)
    assert own is not None
    assert client.get(own.group(1)).headers["cache-control"].startswith("public, max-age")
    # The API keeps its own answers: JSON problems, not compressed unless asked.
    api = client.get("/api/v1/nothing-here")
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "content-security-policy" not in api.headers


@pytest.mark.browser
def test_a_cross_site_form_post_is_refused(page: Page, live_server: LiveServer) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    sign_in(page, "hk_admin")
    # A page of another origin posts a form to the service, with the victim's browser.
    page.set_content(
        f"""<form method="post" action="{live_server.url}/account/password">
        <input name="current_password" value="{PASSWORD}">
        <input name="new_password" value="{NEW_PASSWORD}">
        <button>go</button></form>"""
    )
    with page.expect_navigation():
        page.click("button")
    expect(page.get_by_role("heading", level=1)).to_have_text("Không được phép")
    axe(page)
    assert live_server.api_headers("hk_admin", PASSWORD)


@pytest.mark.browser
def test_changing_ones_own_password_in_the_browser(
    page: Page, live_server: LiveServer, browser: Browser, page_guard: PageGuard
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    # The same person signed in elsewhere too: another browser, and a program with a token.
    elsewhere = new_page(browser, live_server, page_guard)
    sign_in(elsewhere, "hk_admin")
    token = live_server.api_headers("hk_admin")
    sign_in(page, "hk_admin")
    page.get_by_role("link", name="Đổi mật khẩu").click()
    page.get_by_label("Mật khẩu hiện tại").fill("khong-phai-mat-khau")
    page.get_by_label("Mật khẩu mới").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.locator("#current_password-error")).to_contain_text("Mật khẩu hiện tại không đúng.")
    axe(page)
    page.get_by_label("Mật khẩu hiện tại").fill(PASSWORD)
    page.get_by_label("Mật khẩu mới").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đổi mật khẩu.")
    # This browser goes on; every other session and token of the account has ended.
    page.goto(f"/communes/{HN_HOAN_KIEM}")
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
    elsewhere.reload()
    expect(elsewhere).to_have_url(re.compile(r"/sign-in\?next="))
    elsewhere.context.close()
    assert live_server.get("/api/v1/auth/me", headers=token).status_code == 401
    page.get_by_role("button", name="Đăng xuất").click()
    sign_in(page, "hk_admin", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    sign_in(page, "hk_admin", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_works_offline(
    page: Page, live_server: LiveServer, page_guard: PageGuard, path: str
) -> None:
    failed: list[str] = []
    errors: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path)
    # Rendered from the service's own assets: the guard fails the test on any other host.
    expect(page.get_by_text("/api/v1/auth/token").first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")
    # Nothing refused by the policy (ReDoc's logo included), nothing that failed to load.
    assert not page_guard.policy_violations
    assert not failed
    assert not errors
    # Accessible as every other page: the viewers' colours are darkened to pass, and an
    # operation opened shows its parameters and examples within reach of the keyboard.
    axe(page)
    if path == "/docs":
        page.locator(".opblock-summary-control").first.click()
        expect(page.locator(".opblock-body").first).to_be_visible()
        axe(page)
