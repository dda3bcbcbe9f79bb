"""Personal data is never cached, refusals to see it are audited, and URLs leak no ID number."""

import logging
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from tests.certificates.helpers import PASSCODE, certify, enrol_citizen, register
from tests.factories import Staff, citizen_id_for, learner_payload

ID_NUMBER = "001090012345"


def _learner_headers(client: TestClient, citizen_id: str) -> dict[str, str]:
    id_token = client.post(
        "/mock-vneid/oauth/token", data={"username": citizen_id, "password": PASSCODE}
    ).json()["id_token"]
    response = client.post("/api/v1/auth/vneid", json={"id_token": id_token})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _denials(session: Session, action: str) -> list[AuditEvent]:
    statement = select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.outcome == "denied"
    )
    return list(session.exec(statement).all())


def test_answers_carrying_personal_data_are_never_stored_by_a_cache(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    learner_headers = _learner_headers(client, citizen_id)
    hk = staff["hk_member"]
    answers = {
        "learner": client.get(f"/api/v1/learners/{learner['id']}", headers=hk),
        "learners": client.get("/api/v1/learners", headers=hk),
        "lookup": client.post(
            "/api/v1/learners/lookup", json={"citizen_id": citizen_id}, headers=hk
        ),
        "me": client.get("/api/v1/auth/me", headers=hk),
        "print": client.get(f"/api/v1/certificates/{certificate['id']}/print", headers=hk),
        "my progress": client.get("/api/v1/me/progress", headers=learner_headers),
        "my print": client.get(
            f"/api/v1/me/certificates/{certificate['id']}/print", headers=learner_headers
        ),
        "refusal": client.get(f"/api/v1/learners/{learner['id']}", headers=staff["cn_member"]),
    }
    for name, answer in answers.items():
        assert answer.status_code in (200, 404), name
        assert answer.headers["cache-control"] == "no-store", name
    # Public keys may still be cached.
    assert client.get("/.well-known/jwks.json").headers["cache-control"].startswith("public")


def test_refused_lookups_by_id_number_are_audited(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)
    citizen_id = learner_payload("00070", 1)["citizen_id"]
    outside = client.post(
        "/api/v1/learners/lookup", json={"citizen_id": citizen_id}, headers=staff["cn_member"]
    )
    assert outside.status_code == 404
    unknown_id = citizen_id_for(date(1970, 1, 1), "female", serial=99)
    unknown = client.post(
        "/api/v1/learners/lookup", json={"citizen_id": unknown_id}, headers=staff["cn_member"]
    )
    assert unknown.status_code == 404
    denials = _denials(session, "learner.lookup")
    assert len(denials) == 2
    assert {d.actor_id for d in denials} == {f"user:{staff.users['cn_member'].id}"}
    assert {d.target_id for d in denials} == {learner["id"], None}
    for event in denials:
        assert citizen_id not in str(event.detail) and unknown_id not in str(event.detail)


def test_a_learner_printing_anothers_certificate_is_refused_and_audited(
    client: TestClient, staff: Staff, session: Session
) -> None:
    mine = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    other = register(client, staff, 2, full_name="Đỗ Thị Mai", sex="female")
    others_certificate = certify(client, staff, other["id"])
    headers = _learner_headers(client, mine)
    refused = client.get(
        f"/api/v1/me/certificates/{others_certificate['id']}/print", headers=headers
    )
    assert refused.status_code == 404
    denials = _denials(session, "me.certificate_denied")
    assert len(denials) == 1
    assert denials[0].actor_id is not None and denials[0].actor_id.startswith("learner:")
    assert denials[0].target_id == others_certificate["id"]


def test_an_id_number_in_a_url_reaches_neither_the_problem_nor_the_access_log(
    client: TestClient, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    for path in (f"/api/v1/learners/{ID_NUMBER}", f"/api/v1/teams/{ID_NUMBER}"):
        answer = client.get(path, headers=staff["hk_admin"])
        assert answer.status_code in (404, 422), path
        assert ID_NUMBER not in answer.text, path
        assert answer.json()["instance"].endswith("************")
    # uvicorn's access log line, as uvicorn writes it.
    # uvicorn's access log line, as uvicorn writes it, through the filters its logger applies.
    access_log = logging.getLogger("uvicorn.access")
    record = access_log.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.7:5000", "GET", f"/api/v1/communes?q={ID_NUMBER}", "1.1", 200),
        None,
    )
    assert access_log.filter(record)
    line = record.getMessage()
    assert ID_NUMBER not in line and "q=************" in line


def test_user_names_are_unique_regardless_of_case(client: TestClient, staff: Staff) -> None:
    response = client.post(
        "/api/v1/users",
        json={
            "username": "HK_Member",
            "password": "mot-mat-khau-dai",
            "full_name": "Người Trùng Tên",
            "role": "team_member",
            "commune_code": "00070",
            "team_id": staff.users["hk_member"].team_id,
        },
        headers=staff["hk_admin"],
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "hidden", ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u061c"], ids=repr
)
def test_names_with_invisible_characters_are_refused_as_field_problems(
    client: TestClient, staff: Staff, hidden: str
) -> None:
    before = client.get("/api/v1/learners", headers=staff["hk_member"]).json()["items"]
    learner = client.post(
        "/api/v1/learners",
        json=learner_payload("00070", 1, full_name=f"Nguyễn Văn{hidden} An"),
        headers={**staff["hk_member"], "Accept-Language": "en"},
    )
    assert learner.status_code == 422
    assert learner.headers["content-type"].startswith("application/problem+json")
    [problem] = learner.json()["errors"]
    assert problem["loc"][-1] == "full_name"
    assert "invisible characters" in problem["msg"]
    assert hidden not in learner.text
    after = client.get("/api/v1/learners", headers=staff["hk_member"]).json()["items"]
    assert after == before
    user = client.post(
        "/api/v1/users",
        json={
            "username": "nguoi.moi",
            "password": "mot-mat-khau-dai",
            "full_name": f"Trần{hidden} Thị Hoa",
            "role": "commune_admin",
            "commune_code": "00070",
        },
        headers=staff["hn_admin"],
    )
    assert user.status_code == 422
    assert "ký tự ẩn" in user.json()["errors"][0]["msg"]


def test_a_name_typed_decomposed_is_the_same_name(client: TestClient, staff: Staff) -> None:
    composed = "Tổ công nghệ số Ánh Dương"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    headers = staff["hk_admin"]
    first = client.post(
        "/api/v1/teams", json={"name": decomposed, "commune_code": "00070"}, headers=headers
    )
    assert first.status_code == 201, first.text
    assert first.json()["name"] == composed
    again = client.post(
        "/api/v1/teams", json={"name": composed, "commune_code": "00070"}, headers=headers
    )
    assert again.status_code == 409


def test_one_name_created_at_once_in_many_cases_makes_one_account(
    client: TestClient, staff: Staff
) -> None:
    headers = staff["hk_admin"]
    team_id = staff.users["hk_member"].team_id

    def create(username: str) -> int:
        body = {
            "username": username,
            "password": "mot-mat-khau-dai",
            "full_name": "Trần Thị Hoa",
            "role": "team_member",
            "commune_code": "00070",
            "team_id": team_id,
        }
        return client.post("/api/v1/users", json=body, headers=headers).status_code

    names = ["hoa.tran", "Hoa.Tran", "HOA.TRAN", "hoa.TRAN", "Hoa.tran", "hOA.tRAN"]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        statuses = sorted(pool.map(create, names))
    assert statuses == [201] + [409] * (len(names) - 1)
