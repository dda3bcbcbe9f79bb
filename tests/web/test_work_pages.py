"""The staff work pages in a real browser: learners, imports, certificates, accounts and the
pages of a unit, each limited by scope as the API is, and accessible."""

import csv
import io
import re
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.config import Settings
from tests.factories import (
    CITIZEN_COURSES,
    HN,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    citizen_id_for,
    learner_payload,
)
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes
from tests.web.conftest import LiveServer, PageGuard, axe, new_page, sign_in

pytestmark = pytest.mark.browser

COMMUNE = f"/communes/{HN_HOAN_KIEM}"
NEW_PASSWORD = "mot-mat-khau-moi-dai"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # Small chunks, so an import's progress moves in steps a page can see.
    return settings.model_copy(
        update={
            "imports_dir": tmp_path / "imports",
            "import_chunk_rows": 40,
            "import_poll_seconds": 0.2,
        }
    )


def _api_learner(live_server: LiveServer, headers: dict[str, str], serial: int, **extra: object):
    response = httpx.post(
        live_server.url + "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, serial=serial, **extra),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_learner_registered_through_the_form_gets_the_apis_messages(
    page: Page, live_server: LiveServer
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    headers = live_server.api_headers("hk_admin")
    sign_in(page, "hk_admin")

    page.goto(f"{COMMUNE}/learners")
    expect(page.locator(".empty-state")).to_contain_text("Chưa có người học nào")
    axe(page)
    page.get_by_role("link", name="Đăng ký người học").first.click()
    expect(page).to_have_url(re.compile(rf"{COMMUNE}/learners/new$"))
    axe(page)

    # Digit 4 says "male, born in the 1900s"; the form says female.
    bad_id = citizen_id_for(date(1990, 2, 3), "male", serial=7)
    page.fill("input[name=citizen_id]", bad_id)
    page.fill("input[name=full_name]", "Trần Thị Hoa")
    page.fill("input[name=birth_date]", "1990-02-03")
    page.select_option("select[name=sex]", "female")
    page.check("input[name=consent]")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Lưu").click()
    # The answer never carries the ID number back; the page keeps what was typed.
    assert bad_id not in answer.value.text()

    api = httpx.post(
        live_server.url + "/api/v1/learners",
        json=learner_payload(
            HN_HOAN_KIEM, citizen_id=bad_id, birth_date=date(1990, 2, 3), sex="female"
        ),
        headers=headers,
    )
    assert api.status_code == 422
    [api_error] = [e for e in api.json()["errors"] if e["loc"] == ["body", "citizen_id"]]
    error = page.locator("#citizen_id-error")
    expect(error).to_contain_text(api_error["msg"])
    expect(page.locator("input[name=citizen_id]")).to_have_attribute("aria-invalid", "true")
    # What was typed is still there.
    expect(page.locator("input[name=citizen_id]")).to_have_value(bad_id)
    expect(page.locator("input[name=full_name]")).to_have_value("Trần Thị Hoa")
    expect(page.locator("input[name=birth_date]")).to_have_value("1990-02-03")
    axe(page)

    good_id = citizen_id_for(date(1990, 2, 3), "female", serial=7)
    page.fill("input[name=citizen_id]", good_id)
    page.get_by_role("button", name="Lưu").click()
    expect(page).to_have_url(re.compile(rf"{COMMUNE}/learners/[0-9a-f-]{{36}}$"))
    learner_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text("Trần Thị Hoa")
    expect(page.locator("main")).to_contain_text("********" + good_id[-4:])
    assert good_id not in page.content()
    axe(page)

    # A result recorded through the form, with the API's rule on the score.
    page.select_option("select[name=course_code]", CITIZEN_COURSES[0])
    page.fill("input[name=score]", "140")
    page.get_by_role("button", name="Ghi kết quả").click()
    expect(page.locator("#score-error")).to_be_visible()
    page.fill("input[name=score]", "85")
    page.get_by_role("button", name="Ghi kết quả").click()
    expect(page.get_by_role("status")).to_contain_text("Đã ghi kết quả")
    completions = httpx.get(
        f"{live_server.url}/api/v1/learners/{learner_id}/completions", headers=headers
    ).json()["items"]
    assert [(c["course_code"], c["score"]) for c in completions] == [(CITIZEN_COURSES[0], 85)]

    # Accent-insensitive search and the lists by group, as the API finds them.
    _api_learner(live_server, headers, 2, full_name="Lê Văn Bình", groups=["citizen", "worker"])
    page.goto(f"{COMMUNE}/learners")
    page.fill("input[name=q]", "tran thi hoa")
    page.get_by_role("button", name="Tìm").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Trần Thị Hoa")
    page.goto(f"{COMMUNE}/learners?group=worker")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Lê Văn Bình")

    # The edit form changes the record by the API's rules.
    page.goto(f"{COMMUNE}/learners/{learner_id}/edit")
    axe(page)
    page.fill("input[name=phone]", "12345")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#phone-error")).to_contain_text("Sai định dạng")
    page.fill("input[name=phone]", "0912345678")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("main")).to_contain_text("0912345678")

    with live_server.session() as db:
        reads = db.exec(
            select(AuditEvent).where(
                AuditEvent.action == "learner.read", AuditEvent.target_id == learner_id
            )
        ).all()
    assert reads and all(e.actor_role == "commune_admin" for e in reads)


def _import_file(rows: int, bad_rows: set[int]) -> bytes:
    lines = []
    for serial in range(1, rows + 1):
        birth = "12/04/1985"
        # A bad row: the ID number's birth year disagrees with the birth date.
        citizen_id = f"0010{'99' if serial in bad_rows else '85'}{serial:06d}"
        lines.append(
            [
                citizen_id,
                f"Người học {serial}",
                birth,
                "Nam",
                HN_HOAN_KIEM,
                "Người dân",
                "01/03/2026",
            ]
        )
    return csv_bytes(LEARNER_HEADER_VI, lines)


def test_an_import_is_uploaded_and_followed_to_the_end(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    sign_in(page, "hk_admin")
    page.goto(f"{COMMUNE}/imports")
    expect(page.locator(".empty-state")).to_be_visible()
    axe(page)
    with page.expect_download() as template:
        page.get_by_role("link", name="learners.csv").click()
    header = Path(template.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("Số định danh cá nhân,Họ và tên,Ngày sinh")

    rows, bad = 1200, {5, 600, 1111}
    upload = tmp_path / "nguoi-hoc.csv"
    upload.write_bytes(_import_file(rows, bad))
    page.select_option("select[name=kind]", "learners")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Tải lên").click()
    expect(page).to_have_url(re.compile(rf"{COMMUNE}/imports/[0-9a-f-]{{36}}$"))

    # The bar is read as htmx swaps the fragment in (all at once, between two swaps); it only
    # ever moves forward.
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = page.evaluate(
            """() => ({
                read: document.querySelector("#rows-read").textContent,
                value: document.querySelector("#import-bar").getAttribute("value"),
                status: document.querySelector(".import-status").dataset.status,
            })"""
        )
        read = int(state["read"].replace(".", ""))
        if not seen or read != seen[-1]:
            seen.append(read)
        assert state["value"] is None or float(state["value"]) <= rows
        if state["status"] == "done":
            break
        page.wait_for_timeout(100)
    expect(page.locator(".import-status")).to_have_attribute("data-status", "done")
    assert seen == sorted(seen) and seen[-1] == rows, seen
    assert len(seen) >= 2, f"the progress never moved on the page: {seen}"
    expect(page.locator("#rows-stored")).to_have_text(f"{rows - len(bad):,}".replace(",", "."))
    expect(page.locator("#rows-rejected")).to_have_text(str(len(bad)))
    axe(page)

    with page.expect_download() as rejected:
        page.get_by_role("link", name="CSV", exact=True).click()
    content = Path(rejected.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    assert len(table) == 1 + len(bad)
    assert {row[0] for row in table[1:]} == {f"0010{99}{n:06d}" for n in bad}
    assert all("năm sinh" in row[-1] for row in table[1:]), table

    # The list of imports leads back to it.
    page.goto(f"{COMMUNE}/imports")
    expect(page.get_by_role("link", name="nguoi-hoc.csv")).to_be_visible()


def test_an_import_of_old_commune_codes_is_chosen_on_the_form(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    sign_in(page, "hk_admin")
    page.goto(f"{COMMUNE}/imports")
    # Old 00043 (Phường Hàng Mã) went whole into Hoàn Kiếm; old 00070 (Hàng Trống) was split.
    lines = [
        [f"0010850000{n:02d}", f"Người học {n}", "12/04/1985", "Nam", code, "", "01/03/2026"]
        for n, code in ((1, "00043"), (2, "00070"))
    ]
    upload = tmp_path / "danh-sach-cu.csv"
    upload.write_bytes(csv_bytes(LEARNER_HEADER_VI, lines))
    page.select_option("select[name=kind]", "learners")
    page.select_option("select[name=commune_scheme]", "legacy")
    page.set_input_files("input[name=file]", str(upload))
    axe(page)
    page.get_by_role("button", name="Tải lên").click()
    expect(page).to_have_url(re.compile(rf"{COMMUNE}/imports/[0-9a-f-]{{36}}$"))
    expect(page.locator(".import-status")).to_have_attribute("data-status", "done", timeout=30000)
    expect(page.locator("#rows-stored")).to_have_text("1")
    expect(page.locator("#rows-rejected")).to_have_text("1")


def _certified_learner(live_server: LiveServer, headers: dict[str, str]) -> tuple[str, str]:
    learner = _api_learner(live_server, headers, 3, full_name="Phạm Thu Trang")
    for course in CITIZEN_COURSES:
        response = httpx.post(
            live_server.url + "/api/v1/completions",
            json={
                "learner_id": learner["id"],
                "course_code": course,
                "completed_at": "2026-05-10T09:00:00+07:00",
                "score": 90,
                "method": "home_visit",
            },
            headers=headers,
        )
        assert response.status_code in (200, 201), response.text
    certificates = httpx.get(
        f"{live_server.url}/api/v1/learners/{learner['id']}/certificates", headers=headers
    ).json()["items"]
    assert len(certificates) == 1
    return learner["id"], certificates[0]["id"]


def test_a_certificate_is_printed_and_revoked_through_its_page(
    page: Page, live_server: LiveServer
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    headers = live_server.api_headers("hk_admin")
    learner_id, certificate_id = _certified_learner(live_server, headers)
    sign_in(page, "hk_admin")

    page.goto(f"{COMMUNE}/learners/{learner_id}")
    page.get_by_role("link", name=re.compile("Chuẩn|chuẩn")).first.click()
    expect(page).to_have_url(f"{live_server.url}{COMMUNE}/certificates/{certificate_id}")
    expect(page.locator("#certificate-status")).to_have_text("Hợp lệ")
    axe(page)

    # The printable page opens from a link, through the browser session alone.
    printed = page.context.new_page()
    response = printed.goto(f"{COMMUNE}/certificates/{certificate_id}/print")
    assert response is not None and response.status == 200
    expect(printed.locator("h2")).to_have_text("Phạm Thu Trang")
    expect(printed.locator(".qr svg")).to_be_visible()
    axe(printed)
    assert printed.evaluate("getComputedStyle(document.querySelector('.card')).borderStyle") == (
        "double"
    )
    printed.close()

    # Revoking asks first: a dismissed question sends nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Thu hồi chứng nhận").click()
    expect(page.locator("#certificate-status")).to_have_text("Hợp lệ")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Thu hồi chứng nhận").click()
    api = httpx.post(
        f"{live_server.url}/api/v1/certificates/{certificate_id}/revoke",
        json={"reason": ""},
        headers=headers,
    )
    assert api.status_code == 422
    expect(page.locator("#reason-error")).to_contain_text(api.json()["errors"][0]["msg"])
    axe(page)
    page.fill("input[name=reason]", "Kết quả được ghi nhầm người")
    page.get_by_role("button", name="Thu hồi chứng nhận").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi chứng nhận")
    expect(page.locator("#certificate-status")).to_have_text("Đã thu hồi")
    expect(page.locator("main")).to_contain_text("Kết quả được ghi nhầm người")
    certificate = httpx.get(
        f"{live_server.url}/api/v1/certificates/{certificate_id}", headers=headers
    ).json()
    assert certificate["status"] == "revoked"
    assert certificate["revoked_reason"] == "Kết quả được ghi nhầm người"


def test_deactivating_an_account_ends_its_open_session(
    page: Page, live_server: LiveServer, browser: Browser, page_guard: PageGuard
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    member = live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    member_headers = live_server.api_headers("hk_member")
    member_page = new_page(browser, live_server, page_guard)
    sign_in(member_page, "hk_member")
    member_page.goto(f"{COMMUNE}/learners")
    expect(member_page.locator("h1")).to_contain_text("Người học")

    sign_in(page, "hk_admin")
    page.goto(f"{COMMUNE}/users")
    axe(page)
    row = page.locator(f"#user-{member.id}")
    expect(row).to_contain_text("Đang hoạt động")
    # A new password refused by the API's rule, beside the field.
    row.locator("summary").click()
    row.locator("input[name=password]").fill("ngan")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    expect(page.locator(f"#password-{member.id}-error")).to_contain_text("Chuỗi quá ngắn")

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(f"#user-{member.id}").get_by_role("button", name=re.compile("Khóa")).click()
    expect(page.get_by_role("status")).to_contain_text("Đã khóa tài khoản hk_member")
    expect(page.locator(f"#user-{member.id}")).to_contain_text("Đã khóa")

    member_page.reload()
    expect(member_page).to_have_url(re.compile(r"/sign-in\?next="))
    assert live_server.get("/api/v1/auth/me", headers=member_headers).status_code == 401
    sign_in(member_page, "hk_member")
    expect(member_page.get_by_role("alert")).to_be_visible()
    member_page.context.close()

    page.locator(f"#user-{member.id}").get_by_role("button", name=re.compile("Mở lại")).click()
    expect(page.get_by_role("status")).to_contain_text("Đã mở lại tài khoản hk_member")
    assert live_server.get("/api/v1/auth/me", headers=member_headers).status_code == 200
    with live_server.session() as db:
        actions = db.exec(
            select(AuditEvent.action)
            .where(col(AuditEvent.action).in_(["user.deactivate", "user.activate"]))
            .order_by(col(AuditEvent.id))
        ).all()
    assert actions == ["user.deactivate", "user.activate"]


def test_a_password_set_by_an_admin_ends_the_accounts_sessions_and_tokens(
    page: Page, live_server: LiveServer, browser: Browser, page_guard: PageGuard
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    member = live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    member_headers = live_server.api_headers("hk_member")
    member_page = new_page(browser, live_server, page_guard)
    sign_in(member_page, "hk_member")
    member_page.goto(f"{COMMUNE}/learners")
    expect(member_page.locator("h1")).to_contain_text("Người học")

    sign_in(page, "hk_admin")
    page.goto(f"{COMMUNE}/users")
    row = page.locator(f"#user-{member.id}")
    row.locator("summary").click()
    row.locator("input[name=password]").fill(NEW_PASSWORD)
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    expect(page.get_by_role("status")).to_contain_text("hk_member")

    # Whoever knew the old password may hold a session or a token: both end at once.
    member_page.reload()
    expect(member_page).to_have_url(re.compile(r"/sign-in\?next="))
    assert live_server.get("/api/v1/auth/me", headers=member_headers).status_code == 401
    # The account itself goes on, with the new password.
    sign_in(member_page, "hk_member", NEW_PASSWORD)
    expect(member_page).not_to_have_url(re.compile(r"/sign-in"))
    fresh = live_server.api_headers("hk_member", NEW_PASSWORD)
    assert live_server.get("/api/v1/auth/me", headers=fresh).status_code == 200
    member_page.context.close()
    # The admin who set it is still signed in.
    page.reload()
    expect(page.locator(f"#user-{member.id}")).to_be_visible()


def test_each_work_page_is_limited_to_the_users_scope_and_accessible(
    page: Page, live_server: LiveServer, browser: Browser, page_guard: PageGuard, tmp_path: Path
) -> None:
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    live_server.create_staff("cn_admin", Role.commune_admin, commune_code=HN_CUA_NAM)
    live_server.create_staff("hn_admin", Role.province_admin, province_code=HN)
    live_server.create_staff("national", Role.national_admin)
    hk_headers = live_server.api_headers("hk_admin")
    learner_id, certificate_id = _certified_learner(live_server, hk_headers)

    # Another commune's admin: every page of Hoàn Kiếm, and Hoàn Kiếm's learner and
    # certificate under Cửa Nam's own address, answer not-found.
    sign_in(page, "cn_admin")
    for path in (
        f"{COMMUNE}/learners",
        f"{COMMUNE}/learners/{learner_id}",
        f"{COMMUNE}/learners/{learner_id}/edit",
        f"{COMMUNE}/certificates/{certificate_id}",
        f"{COMMUNE}/certificates/{certificate_id}/print",
        f"{COMMUNE}/imports",
        f"{COMMUNE}/villages",
        f"{COMMUNE}/teams",
        f"{COMMUNE}/users",
        f"{COMMUNE}/baselines",
        f"/communes/{HN_CUA_NAM}/learners/{learner_id}",
        f"/communes/{HN_CUA_NAM}/certificates/{certificate_id}",
        f"/provinces/{HN}/targets",
        "/national/users",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert "Phạm Thu Trang" not in page.content()
    with live_server.session() as db:
        denied = db.exec(
            select(AuditEvent).where(
                AuditEvent.outcome == "denied", AuditEvent.actor_role == "commune_admin"
            )
        ).all()
    assert len(denied) >= 10

    # The commune's own pages: villages, teams, baselines, each with what to do next.
    sign_in(page, "hk_admin")
    page.goto(f"{COMMUNE}/villages")
    expect(page.locator(".empty-state")).to_be_visible()
    page.fill("input[name=name]", "Thôn Đông")
    page.get_by_role("button", name="Thêm thôn, tổ dân phố").click()
    expect(page.locator("main li")).to_contain_text("Thôn Đông")
    page.fill("input[name=name]", "thon dong")
    page.get_by_role("button", name="Thêm thôn, tổ dân phố").click()
    expect(page.locator("#name-error")).to_contain_text("đã có thôn/tổ dân phố cùng tên")
    axe(page)

    page.goto(f"{COMMUNE}/teams")
    expect(page.locator(".empty-state")).to_be_visible()
    page.fill("input[name=name]", "Tổ thôn Đông")
    page.get_by_role("button", name="Tạo tổ").click()
    expect(page.locator("h2").first).to_have_text("Tổ thôn Đông")
    axe(page)

    page.goto(f"{COMMUNE}/baselines?year=2026")
    expect(page.locator(".empty-state")).to_contain_text("2026")
    for name, value in (
        ("adults", "8200"),
        ("officials", "65"),
        ("pupils", "-1"),
        ("workers", "1300"),
    ):
        page.fill(f"input[name={name}]", value)
    page.get_by_role("button", name="Lưu số liệu").click()
    expect(page.locator("#pupils-error")).to_be_visible()
    page.fill("input[name=pupils]", "2100")
    page.get_by_role("button", name="Lưu số liệu").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã lưu số liệu năm 2026")
    expect(page.locator("dl.facts")).to_contain_text("8.200")
    axe(page)

    # A province admin: the province's targets and accounts.
    sign_in(page, "hn_admin")
    page.goto(f"/provinces/{HN}/targets")
    axe(page)
    page.select_option("select[name=indicator]", "adults_certified")
    page.select_option("select[name=kind]", "rate")
    page.fill("input[name=value]", "1,5")
    page.fill("input[name=deadline]", "2026-12-31")
    page.get_by_role("button", name="Đặt mục tiêu").click()
    expect(page.locator("#value-error")).to_be_visible()
    page.fill("input[name=value]", "0,85")
    page.get_by_role("button", name="Đặt mục tiêu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu mục tiêu")
    expect(page.locator("tbody")).to_contain_text("85,0 %")
    page.goto(f"/provinces/{HN}/users")
    expect(page.locator("tbody")).to_contain_text("hk_admin")
    axe(page)

    # The province's baselines: what is missing, and one file for many communes.
    page.goto(f"/provinces/{HN}/baselines?year=2026")
    expect(page.get_by_role("status").first).to_contain_text("chưa có số liệu năm 2026")
    axe(page)
    header = ["Mã xã", "Năm", "Người trưởng thành", "CBCCVC", "Học sinh", "Người lao động"]
    upload = tmp_path / "mau-so.csv"
    upload.write_bytes(csv_bytes(header, [[HN_CUA_NAM, 2026, 5100, 40, 900, 700]]))
    page.get_by_role("link", name="Nhập dữ liệu từ tệp").click()
    page.select_option("select[name=kind]", "baselines")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Tải lên").click()
    expect(page).to_have_url(re.compile(rf"/provinces/{HN}/imports/[0-9a-f-]{{36}}$"))
    expect(page.locator(".import-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#rows-stored")).to_have_text("1")
    page.goto(f"/provinces/{HN}/baselines?year=2026")
    expect(page.get_by_role("row", name=re.compile("Cửa Nam"))).to_contain_text("5.100")

    # The nation's pages, for a national admin.
    sign_in(page, "national")
    page.goto("/national/targets")
    expect(page.locator("tbody")).to_contain_text("85,0 %")
    axe(page)
    page.goto("/national/users")
    expect(page.locator("tbody")).to_contain_text("hn_admin")
    axe(page)

    # On a 360-px phone no work page scrolls sideways (wide tables scroll inside their box).
    phone = new_page(browser, live_server, page_guard, viewport={"width": 360, "height": 740})
    sign_in(phone, "hk_admin")
    for path in (
        f"{COMMUNE}/learners",
        f"{COMMUNE}/learners/new",
        f"{COMMUNE}/learners/{learner_id}",
        f"{COMMUNE}/certificates/{certificate_id}",
        f"{COMMUNE}/imports",
        f"{COMMUNE}/users",
        f"{COMMUNE}/baselines",
    ):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
    phone.context.close()
