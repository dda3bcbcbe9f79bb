"""Dashboards in a real browser: the API's figures, scope, drill-down, reports, languages."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.web.formatting import format_number, format_percent
from tests.factories import HN, HN_CUA_NAM, HN_HOAN_KIEM
from tests.web.conftest import LiveServer, axe, sign_in
from tests.web.helpers import arrange_hanoi

pytestmark = pytest.mark.browser


def _api(live_server: LiveServer, who: str, path: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(live_server.url + path, headers=live_server.api_headers(who))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_dashboards_figures_equal_the_apis(page: Page, live_server: LiveServer) -> None:
    arranged = arrange_hanoi(live_server)
    sign_in(page, "hk_admin")
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "7")
    # Each chart is drawn, its figures also in a table for screen readers.
    expect(page.locator(".chart canvas")).to_have_count(7)
    expect(page.locator(".chart-data table")).to_have_count(7)
    stats = _api(live_server, "hk_admin", f"/api/v1/stats/communes/{HN_HOAN_KIEM}")
    assert page.get_by_test_id("as-of").inner_text() == "/".join(
        reversed(stats["as_of"].split("-"))
    )
    adults = next(i for i in stats["indicators"] if i["indicator"] == "adults_certified")
    assert (adults["numerator"], adults["denominator"]) == (2, 5)
    for item in stats["indicators"]:
        card = page.locator(f".indicator[data-indicator={item['indicator']}]")
        expect(card.locator("[data-field=numerator]")).to_have_text(
            format_number(item["numerator"])
        )
        expect(card.locator("[data-field=denominator]")).to_have_text(
            format_number(item["denominator"])
        )
        expect(card.locator("[data-field=rate]")).to_have_text(format_percent(item["rate"]))
        expect(card.locator("[data-field=denominator_source]")).to_have_attribute(
            "data-value", item["denominator_source"]
        )
        if item["target"] is not None:
            expect(card.locator("[data-field=gap]")).to_contain_text(format_number(item["gap"]))
            expect(card.locator("[data-field=projected_rate]")).to_have_text(
                format_percent(item["projected_rate"])
            )
        # What is off track stands out.
        expect(card).to_have_class(
            re.compile("indicator--off") if item["on_track"] is False else re.compile("^indicator$")
        )
    # The villages' table shows the API's breakdown; the lagging village is marked.
    breakdown = _api(live_server, "hk_admin", f"/api/v1/stats/communes/{HN_HOAN_KIEM}/villages")
    for child in breakdown["items"]:
        row = page.locator(f"#children tr[data-code='{child['unit']['code']}']")
        for item in child["indicators"]:
            expect(row.locator(f"td[data-indicator={item['indicator']}]")).to_contain_text(
                format_percent(item["rate"])
            )
    west = page.locator(f"#children tr[data-code='{arranged.villages['Thôn Tây']}']")
    expect(west).to_have_class("is-lagging")
    expect(west).to_contain_text("Chậm tiến độ")
    axe(page)
    # Another day: the page and the API answer for that day, before anyone was certified.
    page.get_by_label("Số liệu đến ngày").fill("2026-01-31")
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_test_id("as-of")).to_have_text("31/01/2026")
    earlier = _api(
        live_server, "hk_admin", f"/api/v1/stats/communes/{HN_HOAN_KIEM}?as_of=2026-01-31"
    )
    adults = next(i for i in earlier["indicators"] if i["indicator"] == "adults_certified")
    card = page.locator(".indicator[data-indicator=adults_certified]")
    expect(card.locator("[data-field=numerator]")).to_have_text(format_number(adults["numerator"]))
    expect(card.locator("[data-field=rate]")).to_have_text(format_percent(adults["rate"]))


def test_a_commune_admin_sees_only_their_commune(page: Page, live_server: LiveServer) -> None:
    arrange_hanoi(live_server)
    sign_in(page, "cn_admin")
    expect(page).to_have_url(re.compile(rf"/communes/{HN_CUA_NAM}$"))
    # The way up is shown, but is not a link: the province and the nation are out of scope.
    breadcrumb = page.get_by_role("navigation", name="Bạn đang ở")
    expect(breadcrumb.get_by_role("link")).to_have_count(0)
    for path in (f"/communes/{HN_HOAN_KIEM}", f"/provinces/{HN}", "/national"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
    response = page.goto(f"/communes/{HN_HOAN_KIEM}/report.xlsx")
    assert response is not None and response.status == 404
    axe(page)


def test_drill_down_from_the_nation_to_a_village_and_back_up(
    page: Page, live_server: LiveServer
) -> None:
    arranged = arrange_hanoi(live_server)
    sign_in(page, "national")
    expect(page).to_have_url(re.compile(r"/national$"))
    axe(page)
    page.locator("#children").get_by_role("link", name="Thành phố Hà Nội").click()
    expect(page).to_have_url(re.compile(rf"/provinces/{HN}$"))
    page.locator("#children").get_by_role("link", name="Phường Hoàn Kiếm").click()
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
    page.locator("#children").get_by_role("link", name="Thôn Đông").click()
    village = arranged.villages["Thôn Đông"]
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}/villages/{village}$"))
    card = page.locator(".indicator[data-indicator=adults_certified]")
    expect(card.locator("[data-field=numerator]")).to_have_text("2")
    expect(card.locator("[data-field=denominator]")).to_have_text("3")
    axe(page)
    breadcrumb = page.get_by_role("navigation", name="Bạn đang ở")
    expect(breadcrumb.get_by_role("listitem")).to_have_text(
        ["Toàn quốc", "Thành phố Hà Nội", "Phường Hoàn Kiếm", "Thôn Đông"]
    )
    breadcrumb.get_by_role("link", name="Thành phố Hà Nội").click()
    expect(page).to_have_url(re.compile(rf"/provinces/{HN}$"))
    breadcrumb.get_by_role("link", name="Toàn quốc").click()
    expect(page).to_have_url(re.compile(r"/national$"))


def test_the_children_table_sorts_by_any_indicator(page: Page, live_server: LiveServer) -> None:
    arrange_hanoi(live_server)
    sign_in(page, "hk_admin")
    table = page.locator("#children")
    rate_header = table.locator("thead th").nth(1).get_by_role("button")
    rate_header.click()
    expect(table.locator("tbody tr").first).to_contain_text("Thôn Tây")
    rate_header.click()
    expect(table.locator("tbody tr").first).to_contain_text("Thôn Đông")
    expect(table.locator("thead th").nth(1)).to_have_attribute("aria-sort", "descending")


def test_a_report_downloads_through_the_session(page: Page, live_server: LiveServer) -> None:
    arrange_hanoi(live_server)
    sign_in(page, "hk_admin")
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Báo cáo Excel (XLSX)").click()
    path = xlsx.value.path()
    assert xlsx.value.suggested_filename.startswith(f"bao-cao-commune-{HN_HOAN_KIEM}-")
    assert path.read_bytes()[:2] == b"PK"
    with page.expect_download() as csv:
        page.get_by_role("link", name="Báo cáo CSV").click()
    text = csv.value.path().read_bytes().decode("utf-8-sig")
    api = httpx.get(
        f"{live_server.url}/api/v1/stats/communes/{HN_HOAN_KIEM}/export.csv",
        headers=live_server.api_headers("hk_admin"),
    )
    assert text == api.content.decode("utf-8-sig")
    assert "Thôn Đông" in text


def test_the_language_switch_changes_every_page(page: Page, live_server: LiveServer) -> None:
    arrange_hanoi(live_server)
    sign_in(page, "hk_admin")
    expect(page.get_by_role("heading", name="Các chỉ tiêu")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(rf"/communes/{HN_HOAN_KIEM}$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    expect(page.locator(".indicator[data-indicator=adults_certified] h3")).to_have_text(
        "Adults certified"
    )
    expect(
        page.locator(".indicator[data-indicator=adults_certified] [data-field=rate]")
    ).to_have_text("40.0%")
    page.goto("/account/password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    axe(page)
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")


@pytest.mark.parametrize("path", ["/sign-in", f"/communes/{HN_HOAN_KIEM}", "/national"])
def test_a_360_px_phone_has_no_horizontal_scroll(
    page: Page, live_server: LiveServer, path: str
) -> None:
    arrange_hanoi(live_server)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, "national")
    page.goto(path)
    expect(page.locator("main")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width} px wide"
