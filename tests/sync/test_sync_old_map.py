"""A phone's batch made on the old map: learners by their commune's code before July 2025."""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.learners.models import Learner
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, Staff, learner_payload

SYNC = "/api/v1/sync"


def old_record(serial: int, old_code: str, commune_code: str | None = None) -> dict[str, Any]:
    record = learner_payload(HN_HOAN_KIEM, serial=serial)
    del record["commune_code"]
    if commune_code is not None:
        record["commune_code"] = commune_code
    record["legacy_commune_code"] = old_code
    record["client_id"] = str(uuid.uuid4())
    return record


def test_old_codes_are_stored_in_their_new_commune_or_rejected_with_candidates(
    client: TestClient, staff: Staff, session: Session
) -> None:
    whole = old_record(1, "00043")  # Phường Hàng Mã → Phường Hoàn Kiếm
    split = old_record(2, "00076")  # Phường Hàng Bông → Hoàn Kiếm or Cửa Nam
    chosen = old_record(3, "00076", commune_code=HN_HOAN_KIEM)
    wrong_choice = old_record(4, "00043", commune_code=HN_CUA_NAM)
    elsewhere = old_record(5, "00088")  # Phường Hàng Bài → Phường Cửa Nam, not the caller's
    unknown = old_record(6, "99999")
    malformed = old_record(7, "43")
    answer = client.post(
        SYNC,
        json={"learners": [whole, split, chosen, wrong_choice, elsewhere, unknown, malformed]},
        headers={**staff["hk_member"], "Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"] + ["rejected"] * 4
    stored = session.exec(select(Learner.commune_code, Learner.province_code)).all()
    assert sorted(stored) == [(HN_HOAN_KIEM, "01"), (HN_HOAN_KIEM, "01")]

    problem = results[1]["problem"]
    assert problem["status"] == 422
    assert problem["candidates"] == [
        {"code": "00070", "name": "Phường Hoàn Kiếm", "province_code": "01"},
        {"code": "00082", "name": "Phường Cửa Nam", "province_code": "01"},
    ]
    error = problem["errors"][0]
    assert error["loc"] == ["body", "learners", 1, "legacy_commune_code"]
    assert "00070 Phường Hoàn Kiếm" in error["msg"] and "00082 Phường Cửa Nam" in error["msg"]
    assert "Hàng Bông" in error["msg"]

    assert results[3]["problem"]["errors"][0]["type"] == "legacy.mismatch"
    assert results[4]["problem"]["status"] == 404  # its new commune is out of scope
    assert results[5]["problem"]["errors"][0]["type"] == "legacy.unknown"
    malformed_fields = [e["loc"][-1] for e in results[6]["problem"]["errors"]]
    assert "legacy_commune_code" in malformed_fields


def test_an_old_code_sent_as_the_commune_code_points_to_the_look_up(
    client: TestClient, staff: Staff
) -> None:
    record = learner_payload("00001", serial=1)
    record["client_id"] = str(uuid.uuid4())
    answer = client.post(
        SYNC,
        json={"learners": [record]},
        headers={
            **staff["hk_member"],
            "Idempotency-Key": str(uuid.uuid4()),
            "Accept-Language": "en",
        },
    )
    problem = answer.json()["results"][0]["problem"]
    assert problem["legacy_commune"] == "/api/v1/legacy/communes/00001"
    assert "old map" in problem["errors"][0]["msg"]
