"""A learner in Chromium: VNeID's sign-in page, own progress and certificate, no replays."""

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.accounts.models import Role
from app.vneid_mock.service import CitizenIndex, add_citizen
from tests.certificates.helpers import PASSCODE
from tests.factories import CITIZEN_COURSES, HN_HOAN_KIEM, citizen_id_for, learner_payload
from tests.web.conftest import LiveServer, axe

pytestmark = pytest.mark.browser


def _certified_learner(live_server: LiveServer) -> tuple[str, dict[str, object]]:
    """A citizen VNeID knows, registered in Hoàn Kiếm and holding the citizens' certificate."""
    citizen_id = citizen_id_for(date(1985, 4, 12), "male", serial=1)
    with live_server.session() as db:
        add_citizen(
            db,
            index=CitizenIndex(live_server.settings),
            citizen_id=citizen_id,
            full_name="Nguyễn Văn An",
            birth_date=date(1985, 4, 12),
            passcode=PASSCODE,
        )
        db.commit()
    live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    headers = live_server.api_headers("hk_member")
    with httpx.Client(base_url=live_server.url, headers=headers) as api:
        learner = api.post("/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, 1)).json()
        for course in CITIZEN_COURSES:
            answer = api.post(
                "/api/v1/completions",
                json={
                    "learner_id": learner["id"],
                    "course_code": course,
                    "completed_at": "2026-05-10T09:00:00+07:00",
                    "score": 90,
                    "method": "class",
                },
            )
            assert answer.status_code in (200, 201), answer.text
        (certificate,) = api.get(f"/api/v1/learners/{learner['id']}/certificates").json()["items"]
    return citizen_id, certificate


def test_a_learner_signs_in_on_vneids_page_and_sees_progress_and_certificate(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    citizen_id, certificate = _certified_learner(live_server)
    page.goto("/me")
    # Sent to VNeID's own sign-in page, in the tracker's language.
    expect(page).to_have_url(re.compile(r"/mock-vneid/authorize\?"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    axe(page)
    page.fill("input[name=username]", citizen_id)
    page.fill("input[name=password]", "000000")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("mật mã VNeID không đúng")
    axe(page)
    page.fill("input[name=username]", citizen_id)
    page.fill("input[name=password]", PASSCODE)
    with page.expect_request(re.compile(r"/sign-in/vneid/callback\?")) as callback:
        page.get_by_role("button", name="Đăng nhập").click()
    callback_url = callback.value.url
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Kết quả học tập của tôi")
    expect(page.get_by_text("Xin chào, Nguyễn Văn An")).to_be_visible()
    expect(page.get_by_text("Đã đạt 7 trên 7 khóa học bắt buộc")).to_be_visible()
    assert citizen_id not in page.content()
    axe(page)

    page.get_by_role("link", name=str(certificate["program_title"])).first.click()
    expect(page).to_have_url(re.compile(rf"/me/certificates/{certificate['id']}$"))
    expect(page.get_by_role("img", name=re.compile("Mã QR"))).to_be_visible()
    axe(page)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Bản in chứng nhận").click()
    printable = opened.value
    printable.wait_for_load_state()
    expect(printable.get_by_role("heading", level=2)).to_have_text("Nguyễn Văn An")
    printable.close()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải chứng nhận số (.jwt)").click()
    saved = tmp_path / "credential.jwt"
    download.value.save_as(saved)
    assert saved.read_text() == certificate["credential"]

    # Signing out ends the session; VNeID's answer, replayed, signs no one in again.
    page.goto("/me")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.goto(callback_url)
    expect(page.get_by_role("alert")).to_be_visible()
    page.goto("/me")
    expect(page).to_have_url(re.compile(r"/mock-vneid/authorize\?"))


def test_a_replayed_id_token_is_refused(live_server: LiveServer) -> None:
    citizen_id, _ = _certified_learner(live_server)
    with httpx.Client(base_url=live_server.url) as http:
        id_token = http.post(
            "/mock-vneid/oauth/token", data={"username": citizen_id, "password": PASSCODE}
        ).json()["id_token"]
        first = http.post("/api/v1/auth/vneid", json={"id_token": id_token})
        assert first.status_code == 200
        again = http.post("/api/v1/auth/vneid", json={"id_token": id_token})
        assert again.status_code == 401
        assert again.headers["content-type"].startswith("application/problem+json")
