"""Indicators dated by what people did: a certificate counts from the day its standard was met,
whenever its results were entered."""

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.core.context import WriteContext, bind_context
from app.ledger.rebuild import compare
from tests.certificates.helpers import register
from tests.factories import CITIZEN_COURSES, HN_HOAN_KIEM, TQ_COMMUNE, Staff, complete

STATS = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"


def certified(client: TestClient, staff: Staff, as_of: str) -> tuple[int, int]:
    response = client.get(STATS, params={"as_of": as_of}, headers=staff["hk_admin"])
    assert response.status_code == 200, response.text
    item = next(i for i in response.json()["indicators"] if i["indicator"] == "adults_certified")
    return item["numerator"], item["denominator"]


def the_certificate(client: TestClient, staff: Staff, learner_id: str) -> dict[str, Any]:
    listed = client.get(f"/api/v1/learners/{learner_id}/certificates", headers=staff["hk_admin"])
    assert listed.status_code == 200, listed.text
    [certificate] = listed.json()["items"]
    return dict(certificate)


def agree(session: Session) -> None:
    session.expire_all()
    bind_context(session, WriteContext(18))
    assert compare(session).agree


def test_results_entered_late_count_in_the_months_the_work_was_done(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)
    assert certified(client, staff, "2025-10-31") == (0, 0)
    # Entered today: courses completed in September and October of last year.
    days = [f"2025-09-{10 + i:02d}T09:00:00+07:00" for i in range(len(CITIZEN_COURSES) - 1)]
    days.append("2025-10-20T23:30:00+07:00")
    for course, day in zip(CITIZEN_COURSES, days, strict=True):
        complete(client, staff["hk_member"], learner["id"], course, completed_at=day)
    certificate = the_certificate(client, staff, learner["id"])
    # Dated by the last required course (its day in Vietnam), recorded today.
    assert certificate["attained_at"].startswith("2025-10-20T16:30:00")
    assert date.fromisoformat(certificate["issued_at"][:10]) > date(2026, 1, 1)
    verified = client.get(f"/api/v1/certificates/{certificate['id']}/verify").json()
    assert verified["attained_on"] == "2025-10-20"
    page = client.get(f"/certificates/{certificate['id']}")
    assert "Ngày đạt chuẩn / Attained on</dt><dd>20/10/2025" in page.text
    # The past months move: registered and certified from the day the standard was met.
    assert certified(client, staff, "2025-10-19") == (0, 0)
    assert certified(client, staff, "2025-10-20") == (1, 1)
    series = client.get(
        f"{STATS}/timeseries",
        params={"from": "2025-09-01", "to": "2025-11-30"},
        headers=staff["hk_admin"],
    ).json()["series"]
    points = next(s for s in series if s["indicator"] == "adults_certified")["points"]
    assert [(p["date"], p["numerator"]) for p in points] == [
        ("2025-09-30", 0),
        ("2025-10-31", 1),
        ("2025-11-30", 1),
    ]
    agree(session)


def test_a_late_result_dates_a_held_certificate_earlier(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 2)
    *first, last = CITIZEN_COURSES
    for course in first:
        complete(client, staff["hk_member"], learner["id"], course, completed_at="2025-03-02")
    complete(client, staff["hk_member"], learner["id"], last, 85, completed_at="2025-06-01")
    certificate = the_certificate(client, staff, learner["id"])
    assert certificate["attained_at"][:10] == "2025-06-01"
    assert certified(client, staff, "2025-04-30") == (0, 0)
    # A better result of the last course, done in April, is entered now.
    complete(client, staff["hk_member"], learner["id"], last, 95, completed_at="2025-04-10")
    again = the_certificate(client, staff, learner["id"])
    assert again["id"] == certificate["id"] and again["attained_at"][:10] == "2025-04-10"
    assert certified(client, staff, "2025-04-30") == (1, 1)
    assert certified(client, staff, "2025-04-09") == (0, 0)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "certificate.redate")).all()
    assert [e.target_id for e in events] == [certificate["id"]]
    agree(session)


def test_a_rate_target_over_no_one_shows_no_gap_and_is_not_off_track(
    client: TestClient, staff: Staff
) -> None:
    response = client.put(
        "/api/v1/targets",
        headers=staff["national"],
        json={
            "indicator": "workers_trained",
            "scope": {"level": "commune", "code": TQ_COMMUNE},
            "kind": "rate",
            "value": 0.8,
            "deadline": "2030-12-31",
        },
    )
    assert response.status_code == 200, response.text
    body = client.get(f"/api/v1/stats/communes/{TQ_COMMUNE}", headers=staff["tq_admin"]).json()
    item = next(i for i in body["indicators"] if i["indicator"] == "workers_trained")
    assert (item["numerator"], item["denominator"]) == (0, 0)
    assert item["target"]["value"] == 0.8
    assert item["gap"] == 0 and item["on_track"] is None
