import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select, update

from app.audit.models import AuditEvent
from app.training import queries, service
from app.training.models import Completion
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, TQ_COMMUNE, Staff, learner_payload

PROBLEM = "application/problem+json"
# CB-ANTOAN is seeded with pass score 80, CB-VNEID with 70.
COURSE = "CB-ANTOAN"


def register(client: TestClient, staff: Staff, who: str, commune: str, serial: int) -> str:
    response = client.post(
        "/api/v1/learners", json=learner_payload(commune, serial=serial), headers=staff[who]
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def completion(learner_id: str, score: float, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "learner_id": learner_id,
        "course_code": COURSE,
        "completed_at": "2026-03-10T09:00:00+07:00",
        "score": score,
        "method": "home_visit",
    }
    body.update(overrides)
    return body


def rows(session: Session, learner_id: str) -> list[Completion]:
    session.expire_all()
    return list(
        session.exec(select(Completion).where(Completion.learner_id == uuid.UUID(learner_id)))
    )


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    return body


def test_passed_follows_the_course_pass_score(client: TestClient, staff: Staff) -> None:
    at_pass = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    below = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    passed = client.post(
        "/api/v1/completions", json=completion(at_pass, 80), headers=staff["hk_member"]
    )
    assert passed.status_code == 201, passed.text
    body = passed.json()
    assert body["passed"] is True
    assert body["course_code"] == COURSE and body["method"] == "home_visit"
    assert body["learner_id"] == at_pass
    assert datetime.fromisoformat(body["completed_at"]) == datetime(2026, 3, 10, 2, tzinfo=UTC)
    failed = client.post(
        "/api/v1/completions", json=completion(below, 79.5), headers=staff["hk_member"]
    )
    assert failed.status_code == 201
    assert failed.json()["passed"] is False


@pytest.mark.parametrize(
    ("first", "second", "status", "kept"),
    [
        ((50, "2026-03-01"), (85, "2026-03-05"), 200, (85, True, 5)),  # fail, then pass
        ((80, "2026-03-01"), (90, "2026-03-05"), 200, (90, True, 5)),  # pass, then better
        ((90, "2026-03-01"), (40, "2026-03-05"), 200, (90, True, 1)),  # pass, then fail
        ((95, "2026-03-05"), (85, "2026-03-01"), 200, (95, True, 5)),  # later but higher
        ((85, "2026-03-05"), (85, "2026-03-01"), 200, (85, True, 1)),  # tie: earlier wins
        ((60, "2026-03-01"), (70, "2026-03-05"), 200, (70, False, 5)),  # two fails
    ],
)
def test_one_row_per_learner_and_course_keeps_the_best(
    client: TestClient,
    staff: Staff,
    session: Session,
    first: tuple[float, str],
    second: tuple[float, str],
    status: int,
    kept: tuple[float, bool, int],
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    created = client.post(
        "/api/v1/completions",
        json=completion(learner, first[0], completed_at=first[1]),
        headers=headers,
    )
    assert created.status_code == 201
    merged = client.post(
        "/api/v1/completions",
        json=completion(learner, second[0], completed_at=second[1], method="online"),
        headers=headers,
    )
    assert merged.status_code == status, merged.text
    score, passed, day = kept
    assert merged.json()["id"] == created.json()["id"]
    assert merged.json()["score"] == score and merged.json()["passed"] is passed
    assert datetime.fromisoformat(merged.json()["completed_at"]).day == day
    stored = rows(session, learner)
    assert len(stored) == 1
    assert (stored[0].score, stored[0].passed, stored[0].completed_at.day) == kept


def test_merge_is_audited_only_when_the_result_changes(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    for score in (50, 90, 60):
        client.post("/api/v1/completions", json=completion(learner, score), headers=headers)
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).startswith("completion."))
        .order_by(col(AuditEvent.id))
    ).all()
    assert [e.action for e in events] == ["completion.create", "completion.update"]
    stored = rows(session, learner)[0]
    assert all(e.target_id == str(stored.id) for e in events)
    assert events[0].commune_code == HN_HOAN_KIEM and events[0].province_code == "01"
    assert events[1].detail is not None and events[1].detail["score"] == 90
    assert events[0].actor_id == f"user:{staff.users['hk_member'].id}"


def test_resending_with_the_same_client_id_changes_nothing(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    client_id = str(uuid.uuid4())
    body = completion(learner, 85, client_id=client_id)
    first = client.post("/api/v1/completions", json=body, headers=headers)
    assert first.status_code == 201
    assert first.json()["client_id"] == client_id
    again = client.post("/api/v1/completions", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    # Even a resend whose score was edited on the phone returns what is stored.
    edited = client.post("/api/v1/completions", json={**body, "score": 99}, headers=headers)
    assert edited.status_code == 200 and edited.json()["score"] == 85
    assert len(rows(session, learner)) == 1
    creates = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(col(AuditEvent.action).startswith("completion."))
    ).one()
    assert creates == 1

    other = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    reused = problem(
        client.post(
            "/api/v1/completions", json=completion(other, 85, client_id=client_id), headers=headers
        ),
        409,
    )
    assert reused["type"].endswith("conflict")
    other_course = completion(learner, 85, client_id=client_id, course_code="CB-VNEID")
    problem(client.post("/api/v1/completions", json=other_course, headers=headers), 409)
    assert rows(session, other) == []
    assert len(rows(session, learner)) == 1


def test_learner_outside_scope_is_not_found_and_nothing_is_stored(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, "cn_member", HN_CUA_NAM, 1)
    for who in ("hk_member", "hk_admin", "tq_admin"):
        response = client.post(
            "/api/v1/completions", json=completion(learner, 90), headers=staff[who]
        )
        assert problem(response, 404)["type"].endswith("not-found")
        assert "Nguyễn" not in response.text
    problem(
        client.post(
            "/api/v1/completions",
            json=completion(str(uuid.uuid4()), 90),
            headers=staff["hk_member"],
        ),
        404,
    )
    assert rows(session, learner) == []
    denied = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "completion.create", AuditEvent.outcome == "denied"
        )
    ).all()
    assert len(denied) >= 3
    # Wider roles covering the commune may record.
    for who, score in (("hn_admin", 70), ("national", 90)):
        ok = client.post("/api/v1/completions", json=completion(learner, score), headers=staff[who])
        assert ok.status_code in (200, 201), ok.text
    assert [r.score for r in rows(session, learner)] == [90]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"method": "carrier_pigeon"}, "method"),
        ({"course_code": "NO-SUCH"}, "course_code"),
        ({"completed_at": "2026-02-30T10:00:00"}, "completed_at"),
        ({"completed_at": "yesterday"}, "completed_at"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"class_id": str(uuid.uuid4())}, "class_id"),
        ({"passed": True}, "passed"),
    ],
)
def test_bad_completions_are_refused(
    client: TestClient,
    staff: Staff,
    session: Session,
    overrides: dict[str, Any],
    field: str,
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    body = {**completion(learner, 90), **overrides}
    response = client.post("/api/v1/completions", json=body, headers=staff["hk_member"])
    body = problem(response, 422)
    assert field in [e["loc"][-1] for e in body["errors"]]
    assert rows(session, learner) == []


def test_future_completion_and_inactive_course_are_refused(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    future = problem(
        client.post(
            "/api/v1/completions",
            json=completion(learner, 90, completed_at=tomorrow),
            headers=headers,
        ),
        422,
    )
    assert future["errors"][0]["type"] == "completion.future"
    next_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    problem(
        client.post(
            "/api/v1/completions",
            json=completion(learner, 90, completed_at=next_week),
            headers=headers,
        ),
        422,
    )

    client.patch("/api/v1/courses/CB-AI", json={"active": False}, headers=staff["national"])
    inactive = problem(
        client.post(
            "/api/v1/completions",
            json=completion(learner, 90, course_code="CB-AI"),
            headers=headers,
        ),
        422,
    )
    assert inactive["errors"][0]["type"] == "course.inactive"
    assert rows(session, learner) == []


def test_a_date_alone_means_midday_in_vietnam(client: TestClient, staff: Staff) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    response = client.post(
        "/api/v1/completions",
        json=completion(learner, 90, completed_at="2026-03-10"),
        headers=staff["hk_member"],
    )
    assert response.status_code == 201, response.text
    stored = datetime.fromisoformat(response.json()["completed_at"])
    assert stored == datetime(2026, 3, 10, 5, tzinfo=UTC)
    today = datetime.now(UTC).date().isoformat()
    other = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    now = client.post(
        "/api/v1/completions",
        json=completion(other, 90, completed_at=today),
        headers=staff["hk_member"],
    )
    assert now.status_code == 201, now.text
    naive = client.post(
        "/api/v1/completions",
        json=completion(learner, 90, completed_at="2026-03-09T08:00:00"),
        headers=staff["hk_member"],
    )
    assert naive.status_code == 200
    assert datetime.fromisoformat(naive.json()["completed_at"]) == datetime(
        2026, 3, 9, 1, tzinfo=UTC
    )


def test_listing_a_learners_completions(client: TestClient, staff: Staff, session: Session) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    for course, score in (("CB-VNEID", 70), ("CB-ANTOAN", 60), ("CB-AI", 90)):
        created = client.post(
            "/api/v1/completions",
            json=completion(learner, score, course_code=course),
            headers=headers,
        )
        assert created.status_code == 201
    listed = client.get(f"/api/v1/learners/{learner}/completions", headers=headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(c["course_code"], c["passed"]) for c in items] == [
        ("CB-AI", True),
        ("CB-ANTOAN", False),
        ("CB-VNEID", True),
    ]
    assert {"id", "learner_id", "completed_at", "score", "method", "class_id", "client_id"} <= set(
        items[0]
    )

    first = client.get(
        f"/api/v1/learners/{learner}/completions", params={"limit": 2}, headers=headers
    ).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/v1/learners/{learner}/completions",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).json()
    assert [c["course_code"] for c in rest["items"]] == ["CB-VNEID"]
    assert rest["next_cursor"] is None

    problem(client.get(f"/api/v1/learners/{learner}/completions", headers=staff["cn_member"]), 404)
    problem(client.get(f"/api/v1/learners/{learner}/completions", headers=staff["tq_admin"]), 404)
    problem(client.get(f"/api/v1/learners/{uuid.uuid4()}/completions", headers=headers), 404)
    assert (
        client.get(f"/api/v1/learners/{learner}/completions", headers=staff["hn_admin"]).status_code
        == 200
    )
    reads = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "completion.read", AuditEvent.outcome == "success"
        )
    ).all()
    assert len(reads) == 4 and reads[0].target_id == learner


def test_concurrent_first_records_merge_into_one_row(
    client: TestClient, staff: Staff, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    assert (
        client.post(
            "/api/v1/completions", json=completion(learner, 60), headers=headers
        ).status_code
        == 201
    )
    # Simulate a writer that read "no row yet" just before another request stored one: the
    # first read of the stored row, on whichever path records it, finds nothing.
    stale: list[str] = []
    for name, nothing in (("stored_from", None), ("learner_completions_from", [])):
        real = getattr(queries, name)

        def stale_first(
            rows: Any, real: Any = real, nothing: Any = nothing, name: str = name
        ) -> Any:
            if stale:
                return real(rows)
            stale.append(name)
            return nothing

        monkeypatch.setattr(queries, name, stale_first)
    merged = client.post("/api/v1/completions", json=completion(learner, 95), headers=headers)
    assert merged.status_code == 200, merged.text
    assert merged.json()["score"] == 95 and merged.json()["passed"] is True
    assert len(stale) == 1
    assert [r.score for r in rows(session, learner)] == [95]
    actions = session.exec(
        select(AuditEvent.action)
        .where(col(AuditEvent.action).startswith("completion."))
        .order_by(col(AuditEvent.id))
    ).all()
    assert actions == ["completion.create", "completion.update"]


def test_a_better_result_stored_meanwhile_is_not_overwritten(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    created = client.post("/api/v1/completions", json=completion(learner, 60), headers=headers)
    assert created.status_code == 201
    real = queries.learner_completions_from
    engine = session.get_bind()

    def read_then_bettered(rows: Any) -> list[queries.StoredCompletion]:
        found = real(rows)
        # Another writer stores a better result right after this one read the stored row.
        with Session(engine) as other:
            other.exec(
                update(Completion)
                .where(col(Completion.learner_id) == uuid.UUID(learner))
                .values(score=99.0, passed=True)
            )
            other.commit()
        monkeypatch.setattr(queries, "learner_completions_from", real)
        return found

    monkeypatch.setattr(queries, "learner_completions_from", read_then_bettered)
    answer = client.post("/api/v1/completions", json=completion(learner, 95), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["score"] == 99
    assert [r.score for r in rows(session, learner)] == [99]
    updates = session.exec(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "completion.update")
    ).one()
    assert updates == 0


def test_concurrent_resend_with_the_same_client_id_answers_the_stored_one(
    client: TestClient, staff: Staff, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    headers = staff["hk_member"]
    client_id = str(uuid.uuid4())
    other = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    first = client.post(
        "/api/v1/completions", json=completion(learner, 85, client_id=client_id), headers=headers
    )
    assert first.status_code == 201
    real = service._by_client_id
    calls: list[int] = []

    def stale_first(*args: Any) -> Completion | None:
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(service, "_by_client_id", stale_first)
    # Another learner's record racing with the same client_id: the unique index refuses it.
    raced = client.post(
        "/api/v1/completions", json=completion(other, 85, client_id=client_id), headers=headers
    )
    problem(raced, 409)
    assert rows(session, other) == []
    assert len(rows(session, learner)) == 1


def test_tq_member_cannot_see_or_write_hanoi(client: TestClient, staff: Staff) -> None:
    learner = register(client, staff, "tq_member", TQ_COMMUNE, 1)
    ok = client.post(
        "/api/v1/completions", json=completion(learner, 90), headers=staff["tq_member"]
    )
    assert ok.status_code == 201
    problem(client.get(f"/api/v1/learners/{learner}/completions", headers=staff["hk_member"]), 404)


@pytest.mark.parametrize(
    ("sent", "instant"),
    [
        ("2026-03-14T09:30:00+07:00", "2026-03-14T02:30:00Z"),
        ("2026-03-14T09:30:00", "2026-03-14T02:30:00Z"),  # no zone: Vietnam time
        ("2026-03-14T02:30:00Z", "2026-03-14T02:30:00Z"),
    ],
)
def test_times_come_back_in_utc_on_create_and_read_alike(
    client: TestClient, staff: Staff, sent: str, instant: str
) -> None:
    learner_id = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    # On PostgreSQL the answer comes from the fast path, the read from a session.
    created = client.post(
        "/api/v1/completions",
        json=completion(learner_id, 90, completed_at=sent),
        headers=staff["hk_member"],
    )
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/v1/learners/{learner_id}/completions", headers=staff["hk_member"])
    (read,) = listed.json()["items"]
    assert created.json()["completed_at"] == read["completed_at"] == instant
    assert created.json()["created_at"] == read["created_at"]
    assert created.json()["created_at"].endswith("Z")
