"""Deliveries an operator can see: VNeID's own reasons, lists by state, sending again."""

import logging
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.certificates.models import Certificate
from tests.certificates.helpers import certify, deliver, enrol_citizen, later, register
from tests.factories import Staff


def _listed(client: TestClient, headers: dict[str, str], state: str) -> list[dict[str, object]]:
    answer = client.get("/api/v1/deliveries", params={"state": state}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"items", "next_cursor"}
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_a_refusal_keeps_vneids_reason_and_is_logged_once(
    client: TestClient, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    certificate = certify(client, staff, register(client, staff, 1)["id"])  # unknown to VNeID
    with caplog.at_level(logging.WARNING, logger="app"):
        assert deliver(client, later(1)) == {"rejected": 1}
    (listed,) = _listed(client, staff["hk_admin"], "rejected")
    assert listed["certificate_id"] == certificate["id"]
    reason = str(listed["last_error"])
    assert reason.startswith("HTTP 422 urn:hocvuso:problem:validation: ")
    assert "Không tìm thấy công dân này trong VNeID." in reason
    shown = client.get(f"/api/v1/certificates/{certificate['id']}", headers=staff["hk_admin"])
    assert shown.json()["vneid"]["last_error"] == reason
    logged = [r for r in caplog.records if certificate["id"] in r.getMessage()]
    assert len(logged) == 1 and "Không tìm thấy công dân" in logged[0].getMessage()


def test_deliveries_are_listed_by_state_in_scope_only(
    client: TestClient, staff: Staff, session: Session
) -> None:
    refused = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client, later(1)) == {"rejected": 1}
    enrol_citizen(client, session, 2, full_name="Trần Thị Bình")
    waiting = certify(client, staff, register(client, staff, 2, full_name="Trần Thị Bình")["id"])
    assert [i["certificate_id"] for i in _listed(client, staff["hk_admin"], "pending")] == [
        waiting["id"]
    ]
    assert _listed(client, staff["hk_admin"], "stuck") == []
    # Waiting past DELIVERY_STUCK_MINUTES (60) since it was issued: stuck.
    stored = session.get(Certificate, uuid.UUID(waiting["id"]))
    assert stored is not None
    stored.issued_at = stored.issued_at - timedelta(minutes=61)
    session.add(stored)
    session.commit()
    (stuck,) = _listed(client, staff["hk_admin"], "stuck")
    assert stuck["certificate_id"] == waiting["id"] and stuck["status"] == "pending"
    for other in ("national", "hn_admin"):
        assert {i["certificate_id"] for i in _listed(client, staff[other], "rejected")} == {
            refused["id"]
        }
    assert _listed(client, staff["cn_admin"], "rejected") == []
    assert _listed(client, staff["tq_admin"], "stuck") == []
    member = client.get("/api/v1/deliveries", headers=staff["hk_member"])
    assert member.status_code == 403
    assert member.headers["content-type"].startswith("application/problem+json")


def test_redeliver_one_after_the_fix_is_audited(
    client: TestClient, staff: Staff, session: Session
) -> None:
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client, later(1)) == {"rejected": 1}
    elsewhere = client.post(
        f"/api/v1/certificates/{certificate['id']}/redeliver", headers=staff["cn_admin"]
    )
    assert elsewhere.status_code == 404
    enrol_citizen(client, session, 1)  # the fix: VNeID now knows the person
    again = client.post(
        f"/api/v1/certificates/{certificate['id']}/redeliver", headers=staff["hk_admin"]
    )
    assert again.status_code == 200, again.text
    assert again.json()["vneid"]["status"] == "pending"
    assert deliver(client, later(2)) == {"delivered": 1}
    assert _listed(client, staff["hk_admin"], "rejected") == []
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "certificate.redeliver")
    ).all()
    outcomes = sorted((e.outcome, e.actor_id) for e in events)
    assert [outcome for outcome, _ in outcomes] == ["denied", "success"]
    assert {e.target_id for e in events} == {certificate["id"]}
    # Delivered now: nothing to send again.
    twice = client.post(
        f"/api/v1/certificates/{certificate['id']}/redeliver",
        headers=staff["hk_admin"] | {"Accept-Language": "en"},
    )
    assert twice.status_code == 409
    assert twice.json()["detail"] == (
        "This certificate cannot be sent to VNeID again: VNeID already holds it."
    )


def test_redeliver_all_rejected_in_scope_leaves_erased_holders_alone(
    client: TestClient, staff: Staff, session: Session
) -> None:
    first = register(client, staff, 1)
    second = register(client, staff, 2, full_name="Trần Thị Bình")
    erased = register(client, staff, 3, full_name="Lê Văn Cường")
    for learner in (first, second, erased):
        certify(client, staff, learner["id"])
    assert deliver(client, later(1)) == {"rejected": 3}
    assert (
        client.delete(f"/api/v1/learners/{erased['id']}", headers=staff["hk_admin"]).status_code
        == 204
    )
    enrol_citizen(client, session, 1)
    enrol_citizen(client, session, 2, full_name="Trần Thị Bình")
    outside = client.post(
        "/api/v1/deliveries/redeliver", json={"state": "rejected"}, headers=staff["cn_admin"]
    )
    assert outside.json() == {"redelivered": 0}
    bad = client.post(
        "/api/v1/deliveries/redeliver", json={"state": "delivered"}, headers=staff["hk_admin"]
    )
    assert bad.status_code == 422
    answer = client.post(
        "/api/v1/deliveries/redeliver", json={"state": "rejected"}, headers=staff["hk_admin"]
    )
    assert answer.status_code == 200 and answer.json() == {"redelivered": 2}
    assert deliver(client, later(2)) == {"delivered": 2}
    (left,) = _listed(client, staff["hk_admin"], "rejected")
    assert left["learner_id"] == erased["id"]
    audited = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(col(AuditEvent.action) == "certificate.redeliver", AuditEvent.outcome == "success")
    ).one()
    assert audited == 2
