"""The learner's own pages: progress per program, certificates, nothing of anyone else."""

import re

import jwt
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.catalog.models import Course
from tests.certificates.helpers import PASSCODE, certify, enrol_citizen, register
from tests.factories import CITIZEN_COURSES, PASSWORD, Staff, complete
from tests.web.learner.flow_helpers import callback, sign_in_at_vneid, start


def _signed_in(client: TestClient, citizen_id: str) -> None:
    answer = callback(client, sign_in_at_vneid(client, start(client), citizen_id, PASSCODE))
    assert answer.status_code == 303, answer.text


def test_my_page_shows_what_i_did_and_what_remains_with_course_names(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    for course in CITIZEN_COURSES[:2]:
        complete(client, staff["hk_member"], learner["id"], course)
    complete(client, staff["hk_member"], learner["id"], CITIZEN_COURSES[2], score=20)
    _signed_in(client, citizen_id)
    page = client.get("/me")
    assert page.status_code == 200
    # The page's session is no API credential.
    assert client.get("/api/v1/me/progress").status_code == 401
    html = page.text
    assert "Đã đạt 2 trên 7 khóa học bắt buộc" in html
    assert "Bạn chưa có chứng nhận nào." in html
    # Every remaining course of the citizens' program is named, with the best score so far.
    titles = {
        code: title
        for code, title in session.exec(
            select(Course.code, Course.title_vi).where(col(Course.code).in_(CITIZEN_COURSES))
        ).all()
    }
    remaining = html.split("Còn phải hoàn thành")[1].split("</ul>")[0]
    for code in CITIZEN_COURSES[2:]:
        assert titles[code] in remaining and code in remaining
    for code in CITIZEN_COURSES[:2]:
        assert f"({code})" not in remaining
    assert "20,0" in remaining and "Chưa học" in remaining
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_my_certificate_prints_shows_its_qr_and_downloads_its_credential(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    _signed_in(client, citizen_id)
    listed = client.get("/me").text
    assert f'href="/me/certificates/{certificate["id"]}"' in listed
    page = client.get(f"/me/certificates/{certificate['id']}")
    assert page.status_code == 200
    assert "<svg" in page.text and f"/certificates/{certificate['id']}" in page.text
    assert "Hợp lệ" in page.text
    printable = client.get(f"/me/certificates/{certificate['id']}/print")
    assert printable.status_code == 200 and "Nguyễn Văn An" in printable.text
    policy = printable.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "style-src 'sha256-" in policy and printable.headers["cache-control"] == "no-store"
    download = client.get(f"/me/certificates/{certificate['id']}/credential.jwt")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["cache-control"] == "no-store"
    assert download.text == certificate["credential"]
    keys = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    claims = jwt.decode(
        download.text,
        keys[jwt.get_unverified_header(download.text)["kid"]].key,
        algorithms=["ES256"],
        options={"verify_aud": False},
    )
    assert claims["jti"].endswith(certificate["id"])


def test_another_persons_certificate_is_a_not_found_page(
    client: TestClient, staff: Staff, session: Session
) -> None:
    mine = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    other = register(client, staff, 2, full_name="Đỗ Thị Mai", sex="female")
    theirs = certify(client, staff, other["id"])
    _signed_in(client, mine)
    for suffix in ("", "/print", "/credential.jwt"):
        answer = client.get(f"/me/certificates/{theirs['id']}{suffix}")
        assert answer.status_code == 404, suffix
        assert answer.headers["content-type"].startswith("text/html")
        assert "Đỗ Thị Mai" not in answer.text and theirs["credential"] not in answer.text
    assert "Đỗ Thị Mai" not in client.get("/me").text
    denials = session.exec(select(AuditEvent).where(AuditEvent.action == "me.certificate_denied"))
    assert len(denials.all()) == 3
    assert client.get("/me/certificates/not-an-id").status_code == 404


def test_my_pages_ask_for_vneid_and_staff_sessions_are_not_learners(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)
    theirs = certify(client, staff, learner["id"])
    for path in ("/me", f"/me/certificates/{theirs['id']}/credential.jwt"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in/vneid?next=/me")
    form = client.get("/sign-in").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', form)
    assert token is not None
    signed_in = client.post(
        "/sign-in",
        data={"username": "hk_admin", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and "hocvuso_session" in client.cookies
    # A staff member's session opens no learner's page.
    assert (
        client.get("/me", follow_redirects=False).headers["location"].startswith("/sign-in/vneid")
    )
