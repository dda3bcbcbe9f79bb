from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.catalog.models import Course, Program, ProgramCourse
from app.catalog.seed import load_catalogue
from app.seed import SEED_DIR
from tests.factories import Staff

PROBLEM = "application/problem+json"
GROUPS = ("citizen", "official", "pupil", "worker")


def _course(code: str = "TEST-01", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "title_vi": "Sử dụng Zalo an toàn",
        "title_en": "Using Zalo safely",
        "domain": "communication",
        "hours": 2,
        "pass_score": 75,
        "audience": ["citizen", "worker"],
    }
    body.update(overrides)
    return body


def _programs(client: TestClient, staff: Staff) -> dict[str, dict[str, Any]]:
    page = client.get("/api/v1/programs", headers=staff["hk_member"]).json()
    assert page["next_cursor"] is None
    return {p["code"]: p for p in page["items"]}


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    return body


def test_seeded_catalogue_covers_the_framework(client: TestClient, staff: Staff) -> None:
    page = client.get("/api/v1/courses", headers=staff["hk_member"])
    assert page.status_code == 200
    courses = page.json()["items"]
    assert 9 <= len(courses) <= 12
    assert {c["domain"] for c in courses} == {
        "devices_internet",
        "information_data",
        "communication",
        "safety",
        "public_services",
        "digital_payment",
        "basic_ai",
        "public_work",
    }
    assert all(c["title_vi"] and c["title_en"] and c["active"] for c in courses)
    assert all(c["hours"] > 0 and 0 <= c["pass_score"] <= 100 for c in courses)

    programs = _programs(client, staff)
    defaults = {p["default_for"]: p for p in programs.values() if p["default_for"]}
    assert set(defaults) == set(GROUPS)
    assert defaults["citizen"]["title_vi"] == "Chuẩn kỹ năng số cơ bản cho người dân"
    known = {c["code"] for c in courses}
    for program in defaults.values():
        assert program["courses"]
        assert {c["course_code"] for c in program["courses"]} <= known
    citizen = {c["course_code"] for c in defaults["citizen"]["courses"]}
    official = {c["course_code"] for c in defaults["official"]["courses"]}
    assert citizen < official
    public_work = {c["code"] for c in courses if c["domain"] == "public_work"}
    assert public_work and public_work <= official


def test_courses_filter_by_audience_and_active_and_page(client: TestClient, staff: Staff) -> None:
    headers = staff["hk_member"]
    officials_only = client.get(
        "/api/v1/courses", params={"audience": "official"}, headers=headers
    ).json()["items"]
    pupils = client.get("/api/v1/courses", params={"audience": "pupil"}, headers=headers).json()[
        "items"
    ]
    assert all("official" in c["audience"] for c in officials_only)
    assert all("pupil" in c["audience"] for c in pupils)
    assert any(c["domain"] == "public_work" for c in officials_only)
    assert not any(c["domain"] == "public_work" for c in pupils)

    created = client.post("/api/v1/courses", json=_course(active=False), headers=staff["national"])
    assert created.status_code == 201, created.text
    inactive = client.get("/api/v1/courses", params={"active": "false"}, headers=headers)
    assert [c["code"] for c in inactive.json()["items"]] == ["TEST-01"]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/courses", params=params, headers=headers).json()
        seen += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 10


def test_national_admin_creates_and_edits_a_course(
    client: TestClient, staff: Staff, session: Session
) -> None:
    created = client.post("/api/v1/courses", json=_course(), headers=staff["national"])
    assert created.status_code == 201, created.text
    assert created.json()["audience"] == ["citizen", "worker"]
    assert created.json()["active"] is True

    changed = client.patch(
        "/api/v1/courses/TEST-01",
        json={"pass_score": 60, "title_en": None, "audience": ["worker", "citizen", "worker"]},
        headers=staff["national"],
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["pass_score"] == 60
    assert body["title_en"] is None
    assert body["audience"] == ["citizen", "worker"]
    assert body["title_vi"] == "Sử dụng Zalo an toàn"
    fetched = client.get("/api/v1/courses/TEST-01", headers=staff["tq_member"])
    assert fetched.json() == body

    actions = session.exec(
        select(AuditEvent.action)
        .where(AuditEvent.target_id == "TEST-01")
        .order_by(col(AuditEvent.id))
    ).all()
    assert actions == ["course.create", "course.update"]


@pytest.mark.parametrize("who", ["hn_admin", "hk_admin", "hk_member"])
def test_only_national_admins_write_the_catalogue(
    client: TestClient, staff: Staff, session: Session, who: str
) -> None:
    _assert_problem(client.post("/api/v1/courses", json=_course(), headers=staff[who]), 403)
    _assert_problem(
        client.patch("/api/v1/courses/CB-AI", json={"hours": 9}, headers=staff[who]), 403
    )
    program = {"code": "P-TEST", "title_vi": "Chuẩn thử", "courses": [{"course_code": "CB-AI"}]}
    _assert_problem(client.post("/api/v1/programs", json=program, headers=staff[who]), 403)
    _assert_problem(
        client.patch(
            "/api/v1/programs/CHUAN-NGUOI-DAN", json={"title_vi": "Khác"}, headers=staff[who]
        ),
        403,
    )
    assert session.get(Course, "TEST-01") is None
    assert session.get(Program, "P-TEST") is None
    assert session.get(Course, "CB-AI").hours != 9  # type: ignore[union-attr]
    denied = session.exec(select(AuditEvent.action).where(AuditEvent.outcome == "denied")).all()
    assert {"course.create", "course.update", "program.create", "program.update"} <= set(denied)


def test_course_input_is_checked(client: TestClient, staff: Staff) -> None:
    national = staff["national"]
    assert client.post("/api/v1/courses", json=_course(), headers=national).status_code == 201
    duplicate = _assert_problem(
        client.post("/api/v1/courses", json=_course(), headers=national), 409
    )
    assert duplicate["type"].endswith("conflict")
    for bad in (
        _course("T2", unknown="x"),
        _course("lower-case"),
        _course("T3", domain="cooking"),
        _course("T4", hours=0),
        _course("T5", pass_score=101),
        _course("T6", audience=[]),
        _course("T7", audience=["tourist"]),
    ):
        _assert_problem(client.post("/api/v1/courses", json=bad, headers=national), 422)
    for patch in ({"code": "NEW"}, {"hours": None}, {"pass_score": -1}):
        _assert_problem(client.patch("/api/v1/courses/TEST-01", json=patch, headers=national), 422)
    _assert_problem(client.get("/api/v1/courses/NO-SUCH", headers=national), 404)
    _assert_problem(
        client.patch("/api/v1/courses/NO-SUCH", json={"hours": 1}, headers=national), 404
    )


def test_national_admin_creates_and_edits_a_program(
    client: TestClient, staff: Staff, session: Session
) -> None:
    national = staff["national"]
    body = {
        "code": "CHUAN-XA-SO",
        "title_vi": "Chuẩn kỹ năng số cho thôn thông minh",
        "courses": [
            {"course_code": "CB-ANTOAN", "pass_score": 90},
            {"course_code": "CB-VNEID"},
        ],
    }
    created = client.post("/api/v1/programs", json=body, headers=national)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["default_for"] is None
    vneid_pass = client.get("/api/v1/courses/CB-VNEID", headers=national).json()["pass_score"]
    assert program["courses"] == [
        {"course_code": "CB-ANTOAN", "pass_score": 90},
        {"course_code": "CB-VNEID", "pass_score": vneid_pass},
    ]

    changed = client.patch(
        "/api/v1/programs/CHUAN-XA-SO",
        json={
            "courses": [{"course_code": "CB-VNEID", "pass_score": 50}, {"course_code": "CB-AI"}],
            "title_en": "Smart village standard",
        },
        headers=national,
    )
    assert changed.status_code == 200, changed.text
    assert [c["course_code"] for c in changed.json()["courses"]] == ["CB-AI", "CB-VNEID"]
    assert changed.json()["courses"][1]["pass_score"] == 50
    assert changed.json()["title_en"] == "Smart village standard"
    rows = session.exec(
        select(ProgramCourse).where(ProgramCourse.program_code == "CHUAN-XA-SO")
    ).all()
    assert {r.course_code for r in rows} == {"CB-AI", "CB-VNEID"}
    fetched = client.get("/api/v1/programs/CHUAN-XA-SO", headers=staff["hk_member"])
    assert fetched.json() == changed.json()

    _assert_problem(client.post("/api/v1/programs", json=body, headers=national), 409)
    actions = session.exec(
        select(AuditEvent.action).where(
            AuditEvent.target_id == "CHUAN-XA-SO", AuditEvent.outcome == "success"
        )
    ).all()
    assert sorted(actions) == ["program.create", "program.update"]


def test_program_courses_must_exist_and_not_be_empty(
    client: TestClient, staff: Staff, session: Session
) -> None:
    national = staff["national"]
    base = {"code": "P-BAD", "title_vi": "Chuẩn lỗi"}
    unknown = _assert_problem(
        client.post(
            "/api/v1/programs",
            json={**base, "courses": [{"course_code": "CB-AI"}, {"course_code": "NO-SUCH"}]},
            headers=national,
        ),
        422,
    )
    assert unknown["errors"][0]["loc"] == ["body", "courses", 1, "course_code"]
    assert unknown["errors"][0]["type"] == "course.unknown"
    empty = _assert_problem(
        client.post("/api/v1/programs", json={**base, "courses": []}, headers=national), 422
    )
    assert empty["errors"][0]["type"] == "program.empty"
    twice = _assert_problem(
        client.post(
            "/api/v1/programs",
            json={**base, "courses": [{"course_code": "CB-AI"}, {"course_code": "CB-AI"}]},
            headers=national,
        ),
        422,
    )
    assert twice["errors"][0]["type"] == "program.duplicate_course"
    _assert_problem(
        client.post("/api/v1/programs", json={**base, "courses": [], "extra": 1}, headers=national),
        422,
    )
    _assert_problem(
        client.patch("/api/v1/programs/CHUAN-NGUOI-DAN", json={"courses": []}, headers=national),
        422,
    )
    _assert_problem(client.get("/api/v1/programs/NO-SUCH", headers=national), 404)
    assert session.get(Program, "P-BAD") is None
    citizen = session.exec(
        select(func.count())
        .select_from(ProgramCourse)
        .where(ProgramCourse.program_code == "CHUAN-NGUOI-DAN")
    ).one()
    assert citizen > 0


def test_one_default_program_per_group(client: TestClient, staff: Staff, session: Session) -> None:
    national = staff["national"]
    body = {
        "code": "P-NEW",
        "title_vi": "Chuẩn mới",
        "default_for": "citizen",
        "courses": [{"course_code": "CB-AI"}],
    }
    taken = _assert_problem(client.post("/api/v1/programs", json=body, headers=national), 409)
    assert taken["default_program"] == "CHUAN-NGUOI-DAN"
    assert session.get(Program, "P-NEW") is None

    body["default_for"] = None
    assert client.post("/api/v1/programs", json=body, headers=national).status_code == 201
    _assert_problem(
        client.patch("/api/v1/programs/P-NEW", json={"default_for": "worker"}, headers=national),
        409,
    )
    # Moving the default: release it first, then take it.
    released = client.patch(
        "/api/v1/programs/CHUAN-NGUOI-DAN", json={"default_for": None}, headers=national
    )
    assert released.status_code == 200 and released.json()["default_for"] is None
    moved = client.patch(
        "/api/v1/programs/P-NEW", json={"default_for": "citizen"}, headers=national
    )
    assert moved.status_code == 200 and moved.json()["default_for"] == "citizen"
    defaults = [p for p in _programs(client, staff).values() if p["default_for"] == "citizen"]
    assert [p["code"] for p in defaults] == ["P-NEW"]


def test_seeding_again_changes_nothing_and_keeps_admin_edits(
    client: TestClient, staff: Staff, session: Session
) -> None:
    edited = client.patch(
        "/api/v1/courses/CB-AI", json={"hours": 6, "active": False}, headers=staff["national"]
    )
    assert edited.status_code == 200
    client.patch(
        "/api/v1/programs/CHUAN-HOC-SINH", json={"default_for": None}, headers=staff["national"]
    )
    before_audit = session.exec(select(func.count()).select_from(AuditEvent)).one()

    counts = load_catalogue(session, SEED_DIR)
    session.commit()

    assert counts == {"courses": 12, "programs": 4}
    course = session.get(Course, "CB-AI")
    assert course is not None and course.hours == 6 and course.active is False
    program = session.get(Program, "CHUAN-HOC-SINH")
    assert program is not None and program.default_for is None
    after_audit = session.exec(select(func.count()).select_from(AuditEvent)).one()
    assert after_audit == before_audit


def test_catalogue_needs_a_token(client: TestClient) -> None:
    _assert_problem(client.get("/api/v1/courses"), 401)
    _assert_problem(client.get("/api/v1/programs"), 401)
