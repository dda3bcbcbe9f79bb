"""A batch stored set-based keeps every record's own answer: what the set statements cannot
place is answered record by record, as before."""

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.certificates.models import Certificate
from app.core.config import Settings
from app.core.security import PersonalIds
from app.learners.models import Learner
from app.ledger.rebuild import compare
from app.training.models import Completion
from tests.factories import CITIZEN_COURSES, HN, HN_HOAN_KIEM, Staff, learner_payload
from tests.sync.test_sync_api import SYNC, completion_record, count, learner_record
from tests.sync.test_sync_totals import _sent_together


def _summary(results: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    return [(r["kind"], r["status"], (r["problem"] or {}).get("status")) for r in results]


def test_a_batch_mixing_new_people_with_what_only_one_record_at_a_time_can_answer(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    desk = client.post("/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, 50), headers=headers)
    assert desk.status_code == 201, desk.text
    earlier_learner = learner_record(HN_HOAN_KIEM, 2)
    earlier_result = completion_record({"learner_client_id": earlier_learner["client_id"]})
    earlier = client.post(
        SYNC,
        json={"learners": [earlier_learner], "completions": [earlier_result]},
        headers=headers,
    )
    assert earlier.status_code == 200, earlier.text
    earlier_ids = [r["id"] for r in earlier.json()["results"]]

    new = learner_record(HN_HOAN_KIEM, 1)
    first_result = completion_record(
        {"learner_client_id": new["client_id"]}, score=60, course_code="CB-AI"
    )
    body = {
        "learners": [
            new,
            # The same person from a second phone, in the same batch.
            learner_record(HN_HOAN_KIEM, 1),
            # Sent again.
            earlier_learner,
            # Registered at the desk already.
            learner_record(HN_HOAN_KIEM, 50),
            # A stored client_id, for someone else.
            learner_record(HN_HOAN_KIEM, 3, client_id=earlier_learner["client_id"]),
            # Not valid.
            learner_record(HN_HOAN_KIEM, 4, birth_date=date.today() + timedelta(days=2)),
            # This batch's first client_id, for someone else.
            learner_record(HN_HOAN_KIEM, 5, client_id=new["client_id"]),
        ],
        "completions": [
            first_result,
            # A better result for the same course merges into the first.
            completion_record(
                {"learner_client_id": new["client_id"]}, score=90, course_code="CB-AI"
            ),
            # Sent again.
            earlier_result,
            # For the person stored before the batch.
            completion_record({"learner_id": desk.json()["id"]}),
            # Another course (stored after the first: results go in learner and course order)
            # with the first result's client_id.
            completion_record(
                {"learner_client_id": new["client_id"]}, client_id=first_result["client_id"]
            ),
            # In the future.
            completion_record(
                {"learner_client_id": new["client_id"]},
                course_code=CITIZEN_COURSES[1],
                completed_at=(datetime.now(UTC) + timedelta(days=2)).isoformat(),
            ),
        ],
    }
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert _summary(results) == [
        ("learner", "created", None),
        ("learner", "duplicate", None),
        ("learner", "duplicate", None),
        ("learner", "duplicate", None),
        ("learner", "rejected", 409),
        ("learner", "rejected", 422),
        ("learner", "rejected", 409),
        ("completion", "created", None),
        ("completion", "duplicate", None),
        ("completion", "duplicate", None),
        ("completion", "created", None),
        ("completion", "rejected", 409),
        ("completion", "rejected", 422),
    ]
    new_id = results[0]["id"]
    assert results[1]["id"] == new_id
    assert results[2]["id"] == earlier_ids[0]
    assert results[3]["id"] == desk.json()["id"]
    assert results[8]["id"] == results[7]["id"]
    assert results[9]["id"] == earlier_ids[1]
    assert results[12]["problem"]["errors"][0]["loc"] == ["body", "completions", 5, "completed_at"]
    session.expire_all()
    merged = session.get(Completion, uuid.UUID(results[7]["id"]))
    assert merged is not None and merged.score == 90 and str(merged.learner_id) == new_id
    assert count(session, Learner) == 3
    assert count(session, Completion) == 3
    created = session.exec(
        select(AuditEvent).where(AuditEvent.action.in_(["learner.create", "completion.create"]))  # type: ignore[attr-defined]
    ).all()
    targets = {(e.action, e.target_id) for e in created}
    assert ("learner.create", new_id) in targets
    assert ("completion.create", results[7]["id"]) in targets
    assert compare(session).agree


def test_results_that_meet_a_program_issue_its_certificate(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    learners = [learner_record(HN_HOAN_KIEM, n) for n in (1, 2)]
    body = {
        "learners": learners,
        "completions": [
            completion_record({"learner_client_id": learner["client_id"]}, course_code=course)
            for learner in learners
            for course in CITIZEN_COURSES
        ][:-1],  # the second learner is one course short
    }
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    first, second = (uuid.UUID(r["id"]) for r in response.json()["results"][:2])
    session.expire_all()
    held = session.exec(select(Certificate.learner_id)).all()
    assert held == [first]
    assert second not in held
    assert compare(session).agree


def test_a_person_a_concurrent_transaction_stores_first_is_answered_as_registered(
    client: TestClient, staff: Staff, session: Session, database_url: str, settings: Settings
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    headers = staff["hn_admin"]
    racer = learner_record(HN_HOAN_KIEM, 7)
    others = [learner_record(HN_HOAN_KIEM, n) for n in (6, 8)]
    body = {
        "learners": [others[0], racer, others[1]],
        "completions": [completion_record({"learner_client_id": racer["client_id"]})],
    }
    racer_id = uuid.uuid4()
    # Another transaction stores the same person and has not committed when the batch looks:
    # the batch's set INSERT waits for it, then skips the person.
    hold = (
        "INSERT INTO learner (id, citizen_id_hash, full_name, name_folded, birth_date, sex,"
        " province_code, commune_code, is_citizen, is_official, is_pupil, is_worker,"
        " created_at, updated_at) VALUES (:id, :hash, 'Nguyễn Văn An', 'nguyen van an',"
        " :born, 'male', :province, :commune, true, false, false, false, now(), now())"
    )
    params = {
        "id": racer_id,
        "hash": PersonalIds(settings).blind_index(racer["citizen_id"]),
        "born": racer["birth_date"],
        "province": HN,
        "commune": HN_HOAN_KIEM,
    }
    [answer] = _sent_together(
        database_url, hold, params, [partial(client.post, SYNC, json=body, headers=headers)]
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert _summary(results) == [
        ("learner", "created", None),
        ("learner", "duplicate", None),
        ("learner", "created", None),
        ("completion", "created", None),
    ]
    assert results[1]["id"] == str(racer_id)
    session.expire_all()
    stored = session.get(Completion, uuid.UUID(results[3]["id"]))
    assert stored is not None and stored.learner_id == racer_id
    assert count(session, Learner) == 3


def test_text_with_quotes_braces_and_backslashes_reads_back_as_sent(
    client: TestClient, staff: Staff
) -> None:
    headers = staff["hk_member"]
    agency = 'Sở "Số" {1,2} \\ NULL'
    record = learner_record(
        HN_HOAN_KIEM, 1, groups=["official"], official_level="commune", agency=agency
    )
    record["consent"]["purpose"] = 'Theo dõi "kỹ năng" \\ số'
    response = client.post(SYNC, json={"learners": [record]}, headers=headers)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "created", result
    stored = client.get(f"/api/v1/learners/{result['id']}", headers=headers).json()
    assert stored["agency"] == agency
    assert stored["consent"]["purpose"] == record["consent"]["purpose"]
