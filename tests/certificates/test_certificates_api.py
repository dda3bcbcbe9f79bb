"""Reading, verifying and revoking certificates through the API, and their pages."""

from datetime import datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.core.clock import local_date
from app.ledger.contributions import CERT_ADULTS
from tests.certificates.helpers import certify, metric_today, register
from tests.factories import (
    CITIZEN_COURSES,
    CITIZEN_PROGRAM,
    OFFICIAL_ONLY_COURSES,
    Staff,
    complete,
)


def _certified_adults(session: Session) -> int:
    return metric_today(session, CERT_ADULTS)


def test_staff_read_certificates_in_scope_only(client: TestClient, staff: Staff) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    assert certificate["program_code"] == CITIZEN_PROGRAM
    assert certificate["status"] == "valid"
    assert certificate["credential"].count(".") == 2
    assert certificate["vneid"] == {
        "status": "pending",
        "receipt_id": None,
        "delivered_at": None,
        "attempts": 0,
        "next_attempt_at": certificate["vneid"]["next_attempt_at"],
        "last_error": None,
    }
    path = f"/api/v1/certificates/{certificate['id']}"
    for user in ("hk_member", "hk_admin", "hn_admin", "national"):
        response = client.get(path, headers=staff[user])
        assert response.status_code == 200, user
        assert response.json()["id"] == certificate["id"]
    for user in ("cn_member", "cn_admin", "tq_admin"):
        assert client.get(path, headers=staff[user]).status_code == 404, user
        listed = client.get(f"/api/v1/learners/{learner['id']}/certificates", headers=staff[user])
        assert listed.status_code == 404, user
    assert client.get(path).status_code == 401
    missing = client.get(
        "/api/v1/certificates/00000000-0000-4000-8000-000000000000", headers=staff["national"]
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_anyone_verifies_with_minimal_disclosure(client: TestClient, staff: Staff) -> None:
    learner = register(client, staff, 1, full_name="Nguyễn Văn An")
    certificate = certify(client, staff, learner["id"])
    response = client.get(f"/api/v1/certificates/{certificate['id']}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["status"] == "valid"
    assert body["holder_name"] == "N***** V** An"
    assert body["program_code"] == CITIZEN_PROGRAM
    # The day it was issued in Vietnam (UTC+7), which is not always the UTC timestamp's date.
    issued_at = datetime.fromisoformat(certificate["issued_at"])
    assert body["issued_on"] == local_date(issued_at).isoformat()
    assert "credential" not in body and "learner_id" not in body
    page = client.get(f"/certificates/{certificate['id']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "N***** V** An" in page.text and "Nguyễn Văn An" not in page.text
    assert "HỢP LỆ" in page.text and "<svg" in page.text
    unknown = client.get("/api/v1/certificates/00000000-0000-4000-8000-000000000000/verify")
    assert unknown.status_code == 404


def test_printable_certificate_carries_a_qr_code_to_verification(
    client: TestClient, staff: Staff
) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    path = f"/api/v1/certificates/{certificate['id']}/print"
    page = client.get(path, headers=staff["hk_member"])
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and "<svg" in page.text
    assert f"/certificates/{certificate['id']}" in page.text
    # Dated day first, as a certificate in Vietnam is.
    attained = local_date(datetime.fromisoformat(certificate["attained_at"]))
    assert f"attained on {attained.strftime('%d/%m/%Y')}" in page.text
    assert client.get(path, headers=staff["cn_member"]).status_code == 404


def test_revocation_by_commune_admin_in_scope(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    assert _certified_adults(session) == 1
    path = f"/api/v1/certificates/{certificate['id']}/revoke"
    reason = {"reason": "Kết quả học được ghi nhầm người"}

    member = client.post(path, json=reason, headers=staff["hk_member"])
    assert member.status_code == 403
    assert member.headers["content-type"].startswith("application/problem+json")
    assert client.post(path, json=reason, headers=staff["cn_admin"]).status_code == 404
    assert client.post(path, json=reason, headers=staff["tq_admin"]).status_code == 404
    empty = client.post(path, json={"reason": ""}, headers=staff["hk_admin"])
    assert empty.status_code == 422
    extra = client.post(path, json={**reason, "status": "valid"}, headers=staff["hk_admin"])
    assert extra.status_code == 422

    revoked = client.post(path, json=reason, headers=staff["hk_admin"])
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked" and body["revoked_reason"] == reason["reason"]
    again = client.post(path, json=reason, headers=staff["hn_admin"])
    assert again.status_code == 409

    check = client.get(f"/api/v1/certificates/{certificate['id']}/verify").json()
    assert check["status"] == "revoked" and check["valid"] is False
    assert check["revoked_on"] is not None
    page = client.get(f"/certificates/{certificate['id']}")
    assert "ĐÃ THU HỒI" in page.text and "REVOKED" in page.text
    printable = client.get(
        f"/api/v1/certificates/{certificate['id']}/print", headers=staff["hk_admin"]
    )
    assert "REVOKED" in printable.text
    # A revoked certificate counts in no indicator, and is kept (never deleted) and not reissued.
    assert _certified_adults(session) == 0
    listed = client.get(f"/api/v1/learners/{learner['id']}/certificates", headers=staff["hk_admin"])
    assert [c["status"] for c in listed.json()["items"]] == ["revoked"]
    actions = session.exec(
        select(AuditEvent.action, AuditEvent.outcome).where(
            AuditEvent.target_id == certificate["id"]
        )
    ).all()
    assert ("certificate.revoke", "success") in actions
    assert ("certificate.revoke", "denied") in actions


def test_a_learner_lists_certificates_per_page(client: TestClient, staff: Staff) -> None:
    learner = register(
        client,
        staff,
        1,
        groups=["citizen", "official"],
        official_level="commune",
        agency="UBND phường Hoàn Kiếm",
    )
    for course in CITIZEN_COURSES + OFFICIAL_ONLY_COURSES:
        complete(client, staff["hk_member"], learner["id"], course, score=95)
    path = f"/api/v1/learners/{learner['id']}/certificates"
    first = client.get(path, params={"limit": 1}, headers=staff["hk_member"]).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(
        path, params={"limit": 1, "cursor": first["next_cursor"]}, headers=staff["hk_member"]
    ).json()
    assert second["next_cursor"] is None
    codes = {first["items"][0]["program_code"], second["items"][0]["program_code"]}
    assert codes == {CITIZEN_PROGRAM, "CHUAN-CBCCVC"}
    assert client.get(path, headers=staff["cn_admin"]).status_code == 404


def test_openapi_lists_the_certificate_and_learner_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/learners/{learner_id}/certificates",
        "/api/v1/certificates/{certificate_id}",
        "/api/v1/certificates/{certificate_id}/verify",
        "/api/v1/certificates/{certificate_id}/revoke",
        "/api/v1/auth/vneid",
        "/api/v1/me/progress",
        "/api/v1/me/certificates",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path
    mock_paths = client.get("/mock-vneid/openapi.json").json()["paths"]
    assert "/api/certifications" in mock_paths and "/oauth/token" in mock_paths
