import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.training.models import Completion, TrainingClass
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, TQ_COMMUNE, Staff, learner_payload

PROBLEM = "application/problem+json"
# CB-VNEID is seeded with pass score 70.
COURSE = "CB-VNEID"
HELD_ON = "2026-03-14"


def register(client: TestClient, staff: Staff, who: str, commune: str, serial: int) -> str:
    response = client.post(
        "/api/v1/learners", json=learner_payload(commune, serial=serial), headers=staff[who]
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def new_class(client: TestClient, staff: Staff, who: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/classes",
        json={"course_code": COURSE, "held_on": HELD_ON, **body},
        headers=staff[who],
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    return body


def completions(session: Session) -> list[Completion]:
    session.expire_all()
    return list(session.exec(select(Completion).order_by(col(Completion.score))))


def test_team_member_records_a_class_in_own_commune(
    client: TestClient, staff: Staff, session: Session
) -> None:
    created = new_class(client, staff, "hk_member", note="  Nhà văn hóa tổ 1 ")
    member = staff.users["hk_member"]
    assert created["commune_code"] == HN_HOAN_KIEM and created["province_code"] == "01"
    assert created["team_id"] == member.team_id
    assert created["held_on"] == HELD_ON and created["note"] == "Nhà văn hóa tổ 1"
    assert created["created_by_id"] == member.id

    fetched = client.get(f"/api/v1/classes/{created['id']}", headers=staff["hk_admin"])
    assert fetched.status_code == 200 and fetched.json() == created
    for outsider in ("cn_member", "tq_admin"):
        problem(client.get(f"/api/v1/classes/{created['id']}", headers=staff[outsider]), 404)
    problem(client.get(f"/api/v1/classes/{uuid.uuid4()}", headers=staff["hk_member"]), 404)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "class.create")).all()
    assert [e.target_id for e in events] == [created["id"]]


def test_class_input_is_checked(client: TestClient, staff: Staff, session: Session) -> None:
    village = client.post(
        f"/api/v1/communes/{HN_CUA_NAM}/villages", json={"name": "Tổ 5"}, headers=staff["cn_admin"]
    ).json()
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"held_on": tomorrow}, "held_on", "class.future"),
        ({"course_code": "NO-SUCH"}, "course_code", "course.unknown"),
        ({"village_id": village["id"]}, "village_id", "village.other_commune"),
        ({"team_id": staff.users["cn_member"].team_id}, "team_id", "team.other_commune"),
        ({"commune_code": "99999"}, "commune_code", "commune.unknown"),
    ]
    for overrides, field, key in cases:
        body = {"course_code": COURSE, "held_on": HELD_ON, **overrides}
        response = client.post("/api/v1/classes", json=body, headers=staff["hk_member"])
        errors = problem(response, 422)["errors"]
        assert (errors[0]["loc"][-1], errors[0]["type"]) == (field, key)
    for body in ({"course_code": COURSE}, {"course_code": COURSE, "held_on": HELD_ON, "x": 1}):
        problem(client.post("/api/v1/classes", json=body, headers=staff["hk_member"]), 422)
    # A province admin has no commune of their own, so must say where.
    no_commune = client.post(
        "/api/v1/classes",
        json={"course_code": COURSE, "held_on": HELD_ON},
        headers=staff["hn_admin"],
    )
    assert problem(no_commune, 422)["errors"][0]["type"] == "class.commune_required"
    foreign = client.post(
        "/api/v1/classes",
        json={"course_code": COURSE, "held_on": HELD_ON, "commune_code": TQ_COMMUNE},
        headers=staff["hk_member"],
    )
    problem(foreign, 404)
    assert session.exec(select(func.count()).select_from(TrainingClass)).one() == 0

    by_province = new_class(
        client,
        staff,
        "hn_admin",
        commune_code=HN_CUA_NAM,
        village_id=village["id"],
        team_id=staff.users["cn_member"].team_id,
    )
    assert by_province["village_id"] == village["id"]


def test_attendance_stores_valid_records_and_rejects_the_others(
    client: TestClient, staff: Staff, session: Session
) -> None:
    passing = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    failing = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    elsewhere = register(client, staff, "cn_member", HN_CUA_NAM, 3)
    unknown = str(uuid.uuid4())
    training_class = new_class(client, staff, "hk_member")
    response = client.post(
        f"/api/v1/classes/{training_class['id']}/attendance",
        json={
            "records": [
                {"learner_id": passing, "score": 70},
                {"learner_id": elsewhere, "score": 90},
                {"learner_id": failing, "score": 69},
                {"learner_id": unknown, "score": 90},
            ]
        },
        headers={**staff["hk_member"], "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["learner_id"], r["status"]) for r in results] == [
        (passing, "created"),
        (elsewhere, "rejected"),
        (failing, "created"),
        (unknown, "rejected"),
    ]
    assert results[0]["completion"]["passed"] is True and results[0]["problem"] is None
    assert results[2]["completion"]["passed"] is False
    for rejected in (results[1], results[3]):
        assert rejected["completion"] is None
        assert rejected["problem"]["status"] == 404
        assert rejected["problem"]["type"].endswith("not-found")
        assert rejected["problem"]["detail"] == "The learner was not found."
    first = results[0]["completion"]
    assert first["method"] == "class" and first["class_id"] == training_class["id"]
    assert first["course_code"] == COURSE
    held = date.fromisoformat(HELD_ON)
    assert datetime.fromisoformat(first["completed_at"]) == datetime(
        held.year, held.month, held.day, 5, tzinfo=UTC
    )

    stored = completions(session)
    assert [str(c.learner_id) for c in stored] == [failing, passing]
    assert all(c.commune_code == HN_HOAN_KIEM and c.province_code == "01" for c in stored)
    assert all(c.recorded_by_id == staff.users["hk_member"].id for c in stored)
    summary = session.exec(select(AuditEvent).where(AuditEvent.action == "class.attendance")).one()
    assert summary.detail == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    denied = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "completion.create", AuditEvent.outcome == "denied"
        )
    ).all()
    assert {e.target_id for e in denied} == {elsewhere}


def test_attendance_keeps_each_learners_best_result(
    client: TestClient, staff: Staff, session: Session
) -> None:
    strong = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    improving = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    headers = staff["hk_member"]
    for learner, score in ((strong, 95), (improving, 40)):
        earlier = client.post(
            "/api/v1/completions",
            json={
                "learner_id": learner,
                "course_code": COURSE,
                "completed_at": "2026-03-01",
                "score": score,
                "method": "home_visit",
            },
            headers=headers,
        )
        assert earlier.status_code == 201
    training_class = new_class(client, staff, "hk_member")
    url = f"/api/v1/classes/{training_class['id']}/attendance"
    body = {
        "records": [{"learner_id": strong, "score": 75}, {"learner_id": improving, "score": 80}]
    }
    results = client.post(url, json=body, headers=headers).json()["results"]
    assert [r["status"] for r in results] == ["unchanged", "updated"]
    assert results[0]["completion"]["score"] == 95
    assert results[0]["completion"]["method"] == "home_visit"
    assert results[1]["completion"]["score"] == 80
    assert results[1]["completion"]["class_id"] == training_class["id"]

    again = client.post(url, json=body, headers=headers).json()["results"]
    assert [r["status"] for r in again] == ["unchanged", "unchanged"]
    assert [c.score for c in completions(session)] == [80, 95]


def test_attendance_checks_the_learners_commune_and_the_list(
    client: TestClient, staff: Staff, session: Session
) -> None:
    here = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    neighbour = register(client, staff, "cn_member", HN_CUA_NAM, 2)
    training_class = new_class(client, staff, "hn_admin", commune_code=HN_HOAN_KIEM)
    url = f"/api/v1/classes/{training_class['id']}/attendance"
    # The province admin sees both learners, but only one lives in the class's commune.
    response = client.post(
        url,
        json={
            "records": [
                {"learner_id": here, "score": 88},
                {"learner_id": neighbour, "score": 88},
            ]
        },
        headers=staff["hn_admin"],
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    rejected = results[1]["problem"]
    assert rejected["status"] == 422
    assert rejected["errors"][0]["type"] == "class.learner_commune"
    assert rejected["errors"][0]["loc"] == ["body", "records", 1, "learner_id"]

    twice = client.post(
        url,
        json={
            "records": [
                {"learner_id": neighbour, "score": 50},
                {"learner_id": neighbour, "score": 90},
            ]
        },
        headers=staff["hn_admin"],
    )
    errors = problem(twice, 422)["errors"]
    assert errors[0]["type"] == "attendance.duplicate_learner"
    assert errors[0]["loc"] == ["body", "records", 1, "learner_id"]
    too_many = {"records": [{"learner_id": str(uuid.uuid4()), "score": 50}] * 501}
    problem(client.post(url, json=too_many, headers=staff["hn_admin"]), 422)
    problem(client.post(url, json={"records": []}, headers=staff["hn_admin"]), 422)
    problem(
        client.post(
            url, json={"records": [{"learner_id": here, "score": 101}]}, headers=staff["hn_admin"]
        ),
        422,
    )
    problem(
        client.post(
            url, json={"records": [{"learner_id": here, "score": 90}]}, headers=staff["cn_member"]
        ),
        404,
    )
    assert [str(c.learner_id) for c in completions(session)] == [here]


def test_completion_may_name_a_class_of_the_same_course_and_commune(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    same = new_class(client, staff, "hk_member")
    other_course = new_class(client, staff, "hk_member", course_code="CB-AI")
    other_commune = new_class(client, staff, "cn_member")
    body = {
        "learner_id": learner,
        "course_code": COURSE,
        "completed_at": HELD_ON,
        "score": 72,
        "method": "class",
    }
    for bad in (other_course, other_commune):
        mismatch = client.post(
            "/api/v1/completions", json={**body, "class_id": bad["id"]}, headers=staff["hk_member"]
        )
        assert problem(mismatch, 422)["errors"][0]["type"] == "completion.class_mismatch"
    assert completions(session) == []
    ok = client.post(
        "/api/v1/completions", json={**body, "class_id": same["id"]}, headers=staff["hk_member"]
    )
    assert ok.status_code == 201 and ok.json()["class_id"] == same["id"]
