"""Mistakes corrected: a result set right or withdrawn, and what it earned following it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.core.context import WriteContext, bind_context
from app.ledger.contributions import CERT_ADULTS
from app.ledger.rebuild import compare
from tests.certificates.helpers import (
    PASSCODE,
    certify,
    deliver,
    enrol_citizen,
    later,
    metric_today,
    register,
)
from tests.factories import CITIZEN_COURSES, Staff, complete

PROBLEM = "application/problem+json"


def agree(session: Session) -> None:
    """The running totals equal a count from the raw records (`stats-rebuild --check`)."""
    session.expire_all()
    bind_context(session, WriteContext(18))
    assert compare(session).agree


def results(client: TestClient, staff: Staff, learner_id: str) -> dict[str, dict[str, Any]]:
    listed = client.get(f"/api/v1/learners/{learner_id}/completions", headers=staff["hk_admin"])
    assert listed.status_code == 200, listed.text
    return {c["course_code"]: c for c in listed.json()["items"]}


def certificates(client: TestClient, staff: Staff, learner_id: str) -> list[dict[str, Any]]:
    listed = client.get(f"/api/v1/learners/{learner_id}/certificates", headers=staff["hk_admin"])
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return sorted(items, key=lambda c: c["issued_at"])


def events(session: Session, action: str, outcome: str = "success") -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.outcome == outcome)
            .order_by(col(AuditEvent.id))
        ).all()
    )


def test_a_corrected_score_revokes_what_it_alone_earned_and_a_new_one_follows_the_fix(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)["id"]
    certificate = certify(client, staff, learner)
    assert metric_today(session, CERT_ADULTS) == 1
    wrong = results(client, staff, learner)[CITIZEN_COURSES[0]]
    corrected = client.patch(
        f"/api/v1/completions/{wrong['id']}",
        json={"score": 40, "reason": "Nhập nhầm điểm 90 thay vì 40"},
        headers=staff["hk_admin"],
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["score"] == 40 and corrected.json()["passed"] is False
    [revoked] = certificates(client, staff, learner)
    assert revoked["id"] == certificate["id"] and revoked["status"] == "revoked"
    assert revoked["revoked_reason"] == "Nhập nhầm điểm 90 thay vì 40"
    assert metric_today(session, CERT_ADULTS) == 0
    agree(session)
    [event] = events(session, "completion.correct")
    assert event.actor_id == f"user:{staff.users['hk_admin'].id}" and event.detail is not None
    assert event.detail["reason"] == "Nhập nhầm điểm 90 thay vì 40"
    assert (event.detail["before"]["score"], event.detail["after"]["score"]) == (90, 40)
    assert [e.target_id for e in events(session, "certificate.revoke")] == [certificate["id"]]

    # The learner retakes the course and passes: a new certificate, the revoked one kept.
    complete(client, staff["hk_member"], learner, CITIZEN_COURSES[0], 88, "2026-06-01")
    old, new = certificates(client, staff, learner)
    assert (old["id"], old["status"], new["status"]) == (certificate["id"], "revoked", "valid")
    assert new["attained_at"][:10] == "2026-06-01"
    assert metric_today(session, CERT_ADULTS) == 1
    agree(session)


def test_a_corrected_date_moves_the_certificate_and_the_months_it_counts_in(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 2)["id"]
    certificate = certify(client, staff, learner)  # every course on 2026-05-10
    wrong = results(client, staff, learner)[CITIZEN_COURSES[-1]]
    corrected = client.patch(
        f"/api/v1/completions/{wrong['id']}",
        json={"completed_at": "2026-07-02", "reason": "Ngày học ghi sai"},
        headers=staff["hk_admin"],
    )
    assert corrected.status_code == 200, corrected.text
    [moved] = certificates(client, staff, learner)
    assert moved["id"] == certificate["id"] and moved["status"] == "valid"
    assert moved["attained_at"][:10] == "2026-07-02"
    june = client.get(
        f"/api/v1/stats/communes/{moved_commune(client, staff, learner)}",
        params={"as_of": "2026-06-30"},
        headers=staff["hk_admin"],
    ).json()["indicators"]
    assert next(i for i in june if i["indicator"] == "adults_certified")["numerator"] == 0
    agree(session)


def moved_commune(client: TestClient, staff: Staff, learner_id: str) -> str:
    body = client.get(f"/api/v1/learners/{learner_id}", headers=staff["hk_admin"]).json()
    return str(body["commune_code"])


def test_a_withdrawn_result_takes_its_certificate_and_stays_in_the_audit_trail(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 3)["id"]
    certificate = certify(client, staff, learner)
    wrong = results(client, staff, learner)[CITIZEN_COURSES[1]]
    withdrawn = client.post(
        f"/api/v1/completions/{wrong['id']}/withdraw",
        json={"reason": "Ghi kết quả cho nhầm người"},
        headers=staff["hn_admin"],
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["id"] == wrong["id"]
    assert CITIZEN_COURSES[1] not in results(client, staff, learner)
    [revoked] = certificates(client, staff, learner)
    assert revoked["id"] == certificate["id"] and revoked["status"] == "revoked"
    assert metric_today(session, CERT_ADULTS) == 0
    [event] = events(session, "completion.withdraw")
    assert event.detail is not None and event.detail["before"]["score"] == 90
    assert event.detail["reason"] == "Ghi kết quả cho nhầm người"
    agree(session)
    again = client.post(
        f"/api/v1/completions/{wrong['id']}/withdraw",
        json={"reason": "Ghi kết quả cho nhầm người"},
        headers=staff["hk_admin"],
    )
    assert again.status_code == 404


def test_only_admins_in_scope_correct_with_a_reason(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 4)["id"]
    certify(client, staff, learner)
    result = results(client, staff, learner)[CITIZEN_COURSES[0]]
    url = f"/api/v1/completions/{result['id']}"
    body = {"score": 10, "reason": "Nhập sai"}
    assert client.patch(url, json=body, headers=staff["hk_member"]).status_code == 403
    for outsider in ("cn_admin", "tq_admin"):
        hidden = client.patch(url, json=body, headers=staff[outsider])
        assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
        assert client.post(f"{url}/withdraw", json=body, headers=staff[outsider]).status_code == 404
    for bad in ({"score": 10}, {"reason": "Nhập sai"}, {"score": 101, "reason": "Nhập sai"}):
        refused = client.patch(url, json=bad, headers=staff["hk_admin"])
        assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    english = client.patch(
        url,
        json={"completed_at": future, "reason": "Nhập sai"},
        headers={**staff["hk_admin"], "Accept-Language": "en"},
    )
    assert english.status_code == 422 and english.headers["content-type"] == PROBLEM
    assert english.json()["title"] == "Invalid input"
    # Nothing changed and nothing was left behind.
    assert results(client, staff, learner)[CITIZEN_COURSES[0]] == result
    assert [c["status"] for c in certificates(client, staff, learner)] == ["valid"]
    # The refusals are audited as such; no correction is.
    assert events(session, "completion.correct") == []
    assert len(events(session, "completion.correct", "denied")) == 3
    agree(session)
    # An erased person's results are out of sight, as the person is.
    erased = client.delete(f"/api/v1/learners/{learner}", headers=staff["hk_admin"])
    assert erased.status_code in (200, 204), erased.text
    assert client.patch(url, json=body, headers=staff["hk_admin"]).status_code == 404


def _vneid_shows(client: TestClient, citizen_id: str) -> list[dict[str, Any]]:
    signed_in = client.post(
        "/mock-vneid/oauth/token", data={"username": citizen_id, "password": PASSCODE}
    ).json()
    handle = jwt.decode(signed_in["id_token"], options={"verify_signature": False})["sub"]
    shown = client.get(
        f"/mock-vneid/api/citizens/{handle}/certifications",
        headers={"Authorization": f"Bearer {signed_in['access_token']}"},
    )
    assert shown.status_code == 200, shown.text
    items: list[dict[str, Any]] = shown.json()["items"]
    return items


def test_a_certificate_revoked_by_mistake_is_reinstated_and_vneid_shows_it_again(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 5)
    learner = register(client, staff, 5)["id"]
    certificate = certify(client, staff, learner)
    url = f"/api/v1/certificates/{certificate['id']}"
    assert deliver(client, later(1)) == {"delivered": 1}
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        revoked = client.post(
            f"{url}/revoke", json={"reason": "Nhầm người"}, headers=staff["hk_admin"]
        )
        assert revoked.status_code == 200, revoked.text
        assert deliver(client, later(2)) == {"withdrawn": 1}
    [shown] = _vneid_shows(client, citizen_id)
    assert shown["status"] == "revoked"
    assert metric_today(session, CERT_ADULTS) == 0

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        body = {"reason": "Thu hồi nhầm người học"}
        assert (
            client.post(f"{url}/reinstate", json=body, headers=staff["hk_member"]).status_code
            == 403
        )
        assert (
            client.post(f"{url}/reinstate", json=body, headers=staff["cn_admin"]).status_code == 404
        )
        assert (
            client.post(f"{url}/reinstate", json={}, headers=staff["hk_admin"]).status_code == 422
        )
        reinstated = client.post(f"{url}/reinstate", json=body, headers=staff["hk_admin"])
        assert reinstated.status_code == 200, reinstated.text
        answer = reinstated.json()
        assert answer["status"] == "valid" and answer["revoked_at"] is None
        assert answer["reinstated_at"] is not None and answer["vneid"]["status"] == "pending"
        assert metric_today(session, CERT_ADULTS) == 1
        agree(session)
        verified = client.get(f"{url}/verify").json()
        assert verified["valid"] is True and verified["status"] == "valid"
        assert deliver(client, later(3)) == {"delivered": 1}
    [shown] = _vneid_shows(client, citizen_id)
    assert shown["status"] == "valid"
    [event] = events(session, "certificate.reinstate")
    assert event.detail is not None and event.detail["reason"] == "Thu hồi nhầm người học"
    assert event.detail["revoked_reason"] == "Nhầm người"
    again = client.post(f"{url}/reinstate", json=body, headers=staff["hk_admin"])
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM


def test_a_revocation_stands_until_new_results_meet_the_standard_again(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 6)["id"]
    certificate = certify(client, staff, learner)
    url = f"/api/v1/certificates/{certificate['id']}"
    revoked = client.post(f"{url}/revoke", json={"reason": "Gian lận"}, headers=staff["hk_admin"])
    assert revoked.status_code == 200
    # Another result, or the same ones sent again, does not undo the revocation.
    complete(client, staff["hk_member"], learner, "CV-VANBAN")
    complete(client, staff["hk_member"], learner, CITIZEN_COURSES[0])
    assert [c["status"] for c in certificates(client, staff, learner)] == ["revoked"]
    # Withdrawn, the results no longer meet the standard: the revocation cannot be undone.
    result = results(client, staff, learner)[CITIZEN_COURSES[0]]
    withdrawn = client.post(
        f"/api/v1/completions/{result['id']}/withdraw",
        json={"reason": "Bài thi gian lận"},
        headers=staff["hk_admin"],
    )
    assert withdrawn.status_code == 200, withdrawn.text
    refused = client.post(
        f"{url}/reinstate",
        json={"reason": "Thu hồi nhầm"},
        headers={**staff["hk_admin"], "Accept-Language": "en"},
    )
    assert refused.status_code == 409
    assert "no longer meet" in refused.json()["detail"]
    # Passed again, properly: a new certificate.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        complete(client, staff["hk_member"], learner, CITIZEN_COURSES[0], 85, "2026-06-20")
    old, new = certificates(client, staff, learner)
    assert (old["status"], new["status"]) == ("revoked", "valid")
    assert metric_today(session, CERT_ADULTS) == 1
    agree(session)
