"""Signing in and out in a real browser, the session's rules, and the sign-in page's words."""

import re

import pytest
from playwright.sync_api import Page, expect

from app.accounts.models import Role
from tests.factories import HN_HOAN_KIEM
from tests.web.conftest import LiveServer, PageGuard, axe, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_own_commune_and_sign_out_ends_the_session(
    page: Page, live_server: LiveServer
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    axe(page)

    sign_in(page, "hk_admin")
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
    page.goto("/account/password")
    expect(page.locator(".user-box__name")).to_have_text("hk_admin")
    axe(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "hocvuso_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=1$"))
    expect(page.get_by_role("status")).to_contain_text("Bạn đã đăng xuất")
    page.goto("/account/password")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/account/password"))


def test_a_wrong_password_is_refused_beside_the_form_and_then_throttled(
    page: Page, live_server: LiveServer
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    for _ in range(live_server.settings.login_max_failures):
        sign_in(page, "hk_admin", "sai-mat-khau-0000")
        expect(page.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng.")
        expect(page.locator("input[name=username]")).to_have_value("hk_admin")
    axe(page)
    # The same throttling as the API's, with its message: even the right password waits.
    sign_in(page, "hk_admin")
    expect(page.get_by_role("alert")).to_contain_text("Đăng nhập sai quá nhiều lần")
    api = live_server.get("/api/v1/auth/me")
    assert api.status_code == 401


def test_the_guard_catches_a_request_to_another_host(page: Page, page_guard: PageGuard) -> None:
    # Every browser test relies on this guard to prove that no request leaves the host (the
    # pages' own policy refuses most such requests first: this page has none).
    page.set_content('<img src="http://example.invalid/logo.png" alt="">')
    assert page_guard.foreign_requests == ["http://example.invalid/logo.png"]
    page_guard.foreign_requests.clear()
