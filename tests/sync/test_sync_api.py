import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.learners.models import Learner
from app.sync.models import IdempotencyKey
from app.training.models import Completion
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, TQ_COMMUNE, Staff, learner_payload

SYNC = "/api/v1/sync"
COURSE = "CB-VNEID"  # pass score 70


def learner_record(commune: str, serial: int, **overrides: Any) -> dict[str, Any]:
    record = learner_payload(commune, serial=serial, **overrides)
    record.setdefault("client_id", str(uuid.uuid4()))
    return record


def completion_record(
    learner_ref: dict[str, str], score: float = 85, **extra: Any
) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "course_code": COURSE,
        "completed_at": "2026-03-14T09:30:00+07:00",
        "score": score,
        "method": "home_visit",
        **learner_ref,
        **extra,
    }


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def batch_of(size: int, commune: str = HN_HOAN_KIEM, start: int = 1) -> dict[str, Any]:
    learners = [learner_record(commune, n) for n in range(start, start + size)]
    completions = [completion_record({"learner_client_id": x["client_id"]}) for x in learners]
    return {"learners": learners, "completions": completions}


def test_each_record_gets_its_own_result(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    registered = client.post(
        "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, 50), headers=headers
    )
    elsewhere = client.post(
        "/api/v1/learners", json=learner_payload(TQ_COMMUNE, 60), headers=staff["tq_member"]
    )
    assert registered.status_code == elsewhere.status_code == 201
    good = learner_record(HN_HOAN_KIEM, 1)
    invalid = learner_record(HN_HOAN_KIEM, 2, birth_date=date.today() + timedelta(days=3))
    bad_shape = learner_record(HN_HOAN_KIEM, 3, citizen_id="00108501234X")
    out_of_scope = learner_record(HN_CUA_NAM, 4)
    same_person = learner_record(HN_HOAN_KIEM, 50)
    person_elsewhere = learner_record(HN_HOAN_KIEM, 60)
    no_client_id = learner_payload(HN_HOAN_KIEM, 5)
    body = {
        "learners": [
            good,
            invalid,
            bad_shape,
            out_of_scope,
            same_person,
            person_elsewhere,
            no_client_id,
        ],
        "completions": [
            completion_record({"learner_client_id": good["client_id"]}),
            completion_record({"learner_client_id": same_person["client_id"]}, score=40),
            completion_record({"learner_client_id": good["client_id"]}, course_code="NO-SUCH"),
            completion_record({"learner_id": elsewhere.json()["id"]}),
            completion_record({"learner_client_id": str(uuid.uuid4())}),
            completion_record(
                {"learner_id": registered.json()["id"], "learner_client_id": good["client_id"]}
            ),
        ],
    }
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    summary = [(r["kind"], r["status"], (r["problem"] or {}).get("status")) for r in results]
    assert summary == [
        ("learner", "created", None),
        ("learner", "rejected", 422),
        ("learner", "rejected", 422),
        ("learner", "rejected", 404),
        ("learner", "duplicate", None),
        ("learner", "rejected", 409),
        ("learner", "rejected", 422),
        ("completion", "created", None),
        ("completion", "created", None),
        ("completion", "rejected", 422),
        ("completion", "rejected", 404),
        ("completion", "rejected", 404),
        ("completion", "rejected", 422),
    ]
    assert [r["client_id"] for r in results[:6]] == [x["client_id"] for x in body["learners"][:6]]
    assert results[6]["client_id"] is None
    assert results[4]["id"] == registered.json()["id"]
    # A person registered outside the caller's scope is not named.
    assert "existing_id" not in results[5]["problem"] and results[5]["id"] is None
    invalid_problem = results[1]["problem"]
    assert invalid_problem["errors"][0]["loc"] == ["body", "learners", 1, "birth_date"]
    assert invalid_problem["errors"][0]["type"] == "birth_date.future"
    assert results[2]["problem"]["errors"][0]["type"] == "citizen_id.shape"
    assert results[9]["problem"]["errors"][0]["loc"] == ["body", "completions", 2, "course_code"]
    # The batch's completion for the known person went to the stored learner.
    assert results[8]["status"] == "created"
    stored = session.get(Completion, uuid.UUID(results[8]["id"]))
    assert stored is not None and str(stored.learner_id) == registered.json()["id"]
    for record in body["learners"]:
        assert record["citizen_id"] not in response.text
    assert count(session, Learner) == 3
    assert count(session, Completion) == 2
    denials = session.exec(
        select(AuditEvent).where(AuditEvent.outcome == "denied", AuditEvent.action != "x")
    ).all()
    assert {e.action for e in denials} >= {"learner.create", "completion.create"}


def test_messages_follow_accept_language(client: TestClient, staff: Staff) -> None:
    body = {"learners": [learner_record(HN_CUA_NAM, 1)]}
    english = client.post(SYNC, json=body, headers={**staff["hk_member"], "Accept-Language": "en"})
    assert english.json()["results"][0]["problem"]["title"] == "Not found"
    vietnamese = client.post(SYNC, json=body, headers=staff["hk_member"])
    assert vietnamese.json()["results"][0]["problem"]["title"] == "Không tìm thấy"


def test_the_same_batch_five_times_in_a_row(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = batch_of(20)
    headers = {**staff["hk_member"], "Idempotency-Key": str(uuid.uuid4())}
    answers = [client.post(SYNC, json=body, headers=headers) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert all(a.json() == answers[0].json() for a in answers)
    assert {r["status"] for r in answers[0].json()["results"]} == {"created"}
    assert count(session, Learner) == 20 and count(session, Completion) == 20

    # Without the key, the records' client_ids keep retries from storing anything twice:
    # the same ids come back, as duplicates.
    again = [client.post(SYNC, json=body, headers=staff["hk_member"]) for _ in range(5)]
    first_ids = [r["id"] for r in answers[0].json()["results"]]
    for answer in again:
        results = answer.json()["results"]
        assert [r["id"] for r in results] == first_ids
        assert {r["status"] for r in results} == {"duplicate"}
    assert count(session, Learner) == 20 and count(session, Completion) == 20


def _send_until_answered(client: TestClient, body: Any, headers: dict[str, str]) -> Any:
    # A client told 409 "still in progress" sends the same request again.
    for _ in range(200):
        response = client.post(SYNC, json=body, headers=headers)
        if response.status_code != 409:
            return response
        assert response.headers["Retry-After"]
    raise AssertionError("the key stayed in progress")


def test_the_same_batch_five_times_at_once(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = batch_of(30)
    headers = {**staff["hk_member"], "Idempotency-Key": str(uuid.uuid4())}
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: _send_until_answered(client, body, headers), range(5)))
    assert {a.status_code for a in answers} == {200}
    assert all(a.json() == answers[0].json() for a in answers)
    assert count(session, Learner) == 30 and count(session, Completion) == 30

    # Five phones' worth of the same records at once, without keys: one copy of each,
    # every answer naming the same stored ids.
    other = batch_of(30, start=100)
    with ThreadPoolExecutor(max_workers=5) as pool:
        plain = list(
            pool.map(lambda _: client.post(SYNC, json=other, headers=staff["hk_member"]), range(5))
        )
    assert {a.status_code for a in plain} == {200}
    ids = [[r["id"] for r in a.json()["results"]] for a in plain]
    assert all(x == ids[0] for x in ids) and None not in ids[0]
    created = sum(r["status"] == "created" for a in plain for r in a.json()["results"])
    assert created == 60
    assert count(session, Learner) == 60 and count(session, Completion) == 60


def test_idempotency_key_rules(client: TestClient, staff: Staff, session: Session) -> None:
    headers = {**staff["hk_member"], "Idempotency-Key": "phone-1-batch-7"}
    body = batch_of(2)
    first = client.post(SYNC, json=body, headers=headers)
    assert first.status_code == 200
    changed = client.post(SYNC, json=batch_of(2, start=10), headers=headers)
    assert changed.status_code == 422
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert changed.json()["detail"].startswith("Idempotency-Key")
    # Keys are per caller: another member's same key is a new request.
    other = client.post(
        SYNC,
        json={"learners": []},
        headers={**staff["cn_member"], **{"Idempotency-Key": "phone-1-batch-7"}},
    )
    assert other.status_code == 200 and other.json() == {"results": []}

    # A key still in progress answers 409; once its holder is gone for good it is taken over.
    in_flight = {**staff["hk_member"], "Idempotency-Key": "in-flight"}
    now = datetime.now(UTC)
    from app.sync import idempotency

    fingerprint = idempotency.fingerprint("POST", SYNC, {"learners": [], "completions": []})
    session.add(
        IdempotencyKey(
            user_id=staff.users["hk_member"].id or 0,
            key="in-flight",
            fingerprint=fingerprint,
            status="in_progress",
            created_at=now,
            expires_at=now + timedelta(hours=24),
            locked_until=now + timedelta(hours=1),
        )
    )
    session.commit()
    busy = client.post(SYNC, json={}, headers=in_flight)
    assert busy.status_code == 409 and busy.headers["Retry-After"]
    row = session.get(IdempotencyKey, (staff.users["hk_member"].id, "in-flight"))
    assert row is not None
    row.locked_until = now - timedelta(seconds=1)
    session.add(row)
    session.commit()
    taken = client.post(SYNC, json={}, headers=in_flight)
    assert taken.status_code == 200

    # An expired key is forgotten: the request is done again (and the records are duplicates).
    row = session.get(IdempotencyKey, (staff.users["hk_member"].id, "phone-1-batch-7"))
    assert row is not None
    row.expires_at = now - timedelta(seconds=1)
    session.add(row)
    session.commit()
    late = client.post(SYNC, json=body, headers=headers)
    assert late.status_code == 200
    assert {r["status"] for r in late.json()["results"]} == {"duplicate"}
    assert [r["id"] for r in late.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert count(session, Learner) == 2


def test_expired_keys_are_purged(client: TestClient, staff: Staff, session: Session) -> None:
    from app.sync import idempotency

    client.post(SYNC, json={}, headers={**staff["hk_member"], "Idempotency-Key": "a"})
    client.post(SYNC, json={}, headers={**staff["hk_member"], "Idempotency-Key": "b"})
    assert count(session, IdempotencyKey) == 2
    later = datetime.now(UTC) + timedelta(hours=25)
    assert idempotency.purge_expired(session, now=later) == 2
    session.commit()
    assert count(session, IdempotencyKey) == 0


def test_a_failed_request_gives_its_key_up(
    client: TestClient,
    staff: Staff,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.sync import service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire while storing Nguyễn Văn An, 14/03/1990")

    monkeypatch.setattr(service, "sync", broken)
    headers = {**staff["hk_member"], "Idempotency-Key": "k1"}
    failed = client.post(SYNC, json=batch_of(1), headers=headers)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["type"].endswith(":internal")
    assert failed.headers["x-request-id"]
    assert count(session, IdempotencyKey) == 0 and count(session, Learner) == 0
    # The log says what failed and where, not the message, which may carry personal data.
    assert "RuntimeError" in caplog.text and "broken" in caplog.text
    assert "Nguyễn" not in caplog.text and "1990" not in caplog.text
    monkeypatch.undo()
    assert client.post(SYNC, json=batch_of(1), headers=headers).status_code == 200


def _clash(session: Session) -> OperationalError:
    """What the driver raises when another transaction wins: a deadlock on PostgreSQL, a
    database still locked on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        cause: Exception = psycopg.errors.DeadlockDetected("deadlock detected")
    else:
        cause = sqlite3.OperationalError("database is locked")
    return OperationalError("INSERT INTO stat_total ...", {"full_name": "Nguyễn Văn An"}, cause)


def test_a_clash_with_another_transaction_asks_the_phone_to_send_again(
    client: TestClient,
    staff: Staff,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.ledger import totals

    store = totals._store

    def clashing(*args: Any, **kwargs: Any) -> None:
        raise _clash(session)

    # The batch's records are stored, then its totals lose to another transaction.
    monkeypatch.setattr(totals, "_store", clashing)
    headers = {**staff["hk_member"], "Idempotency-Key": "k2", "Accept-Language": "vi"}
    body = batch_of(3)
    busy = client.post(SYNC, json=body, headers=headers)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.json()["title"] == "Hệ thống đang bận"
    assert "gửi lại" in busy.json()["detail"]
    # Nothing of it stayed, and its key is free for the retry.
    assert count(session, Learner) == 0 and count(session, Completion) == 0
    assert count(session, IdempotencyKey) == 0
    assert "Nguyễn" not in caplog.text
    monkeypatch.setattr(totals, "_store", store)
    again = client.post(SYNC, json=body, headers=headers)
    assert again.status_code == 200
    assert {r["status"] for r in again.json()["results"]} == {"created"}
    assert count(session, Learner) == 3


def test_too_many_records_and_bad_requests(client: TestClient, staff: Staff) -> None:
    headers = staff["hk_member"]
    record = learner_record(HN_HOAN_KIEM, 1)
    too_many = client.post(SYNC, json={"learners": [record] * 1001}, headers=headers)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["type"] == "sync.too_many"
    assert "1000" in too_many.json()["errors"][0]["msg"]
    assert client.post(SYNC, json={"learners": "x"}, headers=headers).status_code == 422
    assert client.post(SYNC, json={"other": []}, headers=headers).status_code == 422
    assert client.post(SYNC, json={}).status_code == 401
    not_objects = client.post(SYNC, json={"learners": [1]}, headers=headers)
    assert not_objects.status_code == 422


def test_province_admin_syncs_across_its_communes(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = {
        "learners": [
            learner_record(HN_HOAN_KIEM, 1),
            learner_record(HN_CUA_NAM, 2),
            learner_record(TQ_COMMUNE, 3),
        ]
    }
    response = client.post(SYNC, json=body, headers=staff["hn_admin"])
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "created", "rejected"]
    events = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "sync.batch")).all()
    assert [e.detail for e in events] == [{"created": 2, "duplicate": 0, "rejected": 1}]
