import logging
from datetime import UTC, date, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.audit.models import AuditEvent
from app.learners.models import Learner
from tests.factories import (
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    TQ_COMMUNE,
    Staff,
    citizen_id_for,
    learner_payload,
)

PROBLEM = "application/problem+json"


def _register(client: TestClient, staff: Staff, who: str, body: dict[str, object]) -> str:
    response = client.post("/api/v1/learners", json=body, headers=staff[who])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Learner)).one()


def test_registration_stores_the_id_only_as_index_and_ciphertext(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = learner_payload(HN_HOAN_KIEM, full_name="  Nguyễn   Văn An ", phone="0912345678")
    response = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    assert response.status_code == 201, response.text
    learner = response.json()
    assert learner["citizen_id_masked"] == "********" + body["citizen_id"][-4:]
    assert body["citizen_id"] not in response.text
    assert learner["full_name"] == "Nguyễn Văn An"
    assert learner["province_code"] == "01"
    assert learner["groups"] == ["citizen"]
    assert learner["consent"]["purpose"] == body["consent"]["purpose"]
    stored = session.exec(select(Learner)).one()
    assert body["citizen_id"] not in repr(stored.model_dump())
    assert stored.citizen_id_hash and stored.citizen_id_enc
    personal_ids = client.app.state.personal_ids  # type: ignore[attr-defined]
    assert personal_ids.decrypt(stored.citizen_id_enc) == body["citizen_id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"citizen_id": "12345"}, "citizen_id"),
        ({"citizen_id": "00108501234X"}, "citizen_id"),
        ({"citizen_id": "001185012345"}, "citizen_id"),  # female digit for a man
        ({"citizen_id": "001090012345"}, "citizen_id"),  # year digits 90 for 1985
        ({"citizen_id": "003085012345"}, "citizen_id"),  # 003 is no province
        ({"birth_date": "1985-02-30"}, "birth_date"),
        ({"sex": "other"}, "sex"),
        ({"commune_code": "0070"}, "commune_code"),
        ({"groups": ["citizen", "alien"]}, "groups"),
        ({"groups": []}, "groups"),
        ({"phone": "12345"}, "phone"),
        ({"province_code": "01"}, "province_code"),  # not settable by clients
        ({"consent": None}, "consent"),
        ({"groups": ["official"]}, "official_level"),
        ({"official_level": "commune", "agency": "UBND"}, "official_level"),
    ],
)
def test_bad_learners_are_refused_with_field_errors_and_nothing_stored(
    client: TestClient,
    staff: Staff,
    session: Session,
    overrides: dict[str, object],
    field: str,
) -> None:
    body = learner_payload(HN_HOAN_KIEM)
    body.update(overrides)
    response = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 422
    assert field in {e["loc"][-1] if e["loc"] else None for e in problem["errors"]} | {
        e["loc"][1] if len(e["loc"]) > 1 else None for e in problem["errors"]
    }
    assert str(body["citizen_id"]) not in response.text
    assert _count(session) == 0


def test_future_birth_date_and_english_messages(client: TestClient, staff: Staff) -> None:
    # 20:00 UTC on 1 June is already 2 June in Vietnam: a child born that day is not "future".
    with time_machine.travel(datetime(2026, 6, 1, 20, 0, tzinfo=UTC), tick=False):
        staff.sign_in_again()
        headers = {**staff["hk_member"], "Accept-Language": "en"}
        born_today = learner_payload(HN_HOAN_KIEM, serial=1, birth_date=date(2026, 6, 2))
        assert client.post("/api/v1/learners", json=born_today, headers=headers).status_code == 201
        tomorrow = learner_payload(HN_HOAN_KIEM, serial=2, birth_date=date(2026, 6, 3))
        response = client.post("/api/v1/learners", json=tomorrow, headers=headers)
    staff.sign_in_again()
    assert response.status_code == 422
    messages = {e["msg"] for e in response.json()["errors"]}
    assert "Birth date cannot be in the future." in messages
    assert response.json()["title"] == "Invalid input"
    vi = client.post(
        "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, citizen_id="001185012345"),
        headers=staff["hk_member"],
    )
    assert vi.json()["errors"][0]["msg"].startswith("Chữ số thứ 4")


def test_same_person_twice_conflicts_without_leaking_across_communes(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = learner_payload(HN_HOAN_KIEM, full_name="Lê Thị Hoa", sex="female")
    first = _register(client, staff, "hk_member", body)
    same_commune = client.post("/api/v1/learners", json=body, headers=staff["hk_admin"])
    assert same_commune.status_code == 409
    assert same_commune.json()["existing_id"] == first

    elsewhere = {**body, "commune_code": TQ_COMMUNE, "full_name": "Le Thi Hoa"}
    other = client.post("/api/v1/learners", json=elsewhere, headers=staff["tq_member"])
    assert other.status_code == 409
    assert other.headers["content-type"].startswith(PROBLEM)
    text = other.text
    for secret in (first, "Lê Thị Hoa", HN_HOAN_KIEM, body["citizen_id"]):
        assert secret not in text
    assert _count(session) == 1


def test_other_communes_learners_are_invisible(
    client: TestClient, staff: Staff, session: Session
) -> None:
    hk = _register(
        client, staff, "hk_member", learner_payload(HN_HOAN_KIEM, 1, full_name="Phạm Văn Đức")
    )
    cn = _register(
        client, staff, "cn_member", learner_payload(HN_CUA_NAM, 2, full_name="Phạm Văn Đông")
    )
    tq_body = learner_payload(TQ_COMMUNE, 3, full_name="Phạm Thị Đào", sex="female")
    tq = _register(client, staff, "tq_member", tq_body)

    for learner_id in (cn, tq):
        for method, extra in (
            ("get", {}),
            ("patch", {"json": {"phone": "0912345678"}}),
            ("delete", {}),
        ):
            response = client.request(
                method, f"/api/v1/learners/{learner_id}", headers=staff["hk_admin"], **extra
            )
            assert response.status_code == 404, (method, response.text)
            assert "Phạm" not in response.text
    assert client.get(f"/api/v1/learners/{hk}", headers=staff["hk_member"]).status_code == 200

    def ids(who: str, **params: object) -> set[str]:
        response = client.get("/api/v1/learners", params=params, headers=staff[who])
        assert response.status_code == 200
        return {x["id"] for x in response.json()["items"]}

    assert ids("hk_member") == {hk}
    assert ids("hk_member", q="pham") == {hk}
    assert ids("hk_member", commune_code=TQ_COMMUNE) == set()
    assert ids("hn_admin", q="pham van") == {hk, cn}
    assert ids("tq_admin") == {tq}
    assert ids("national", q="pham") == {hk, cn, tq}
    assert ids("national", q="dao") == {tq}

    lookup = client.post(
        "/api/v1/learners/lookup",
        json={"citizen_id": tq_body["citizen_id"]},
        headers=staff["hk_admin"],
    )
    assert lookup.status_code == 404
    found = client.post(
        "/api/v1/learners/lookup",
        json={"citizen_id": tq_body["citizen_id"]},
        headers=staff["tq_member"],
    )
    assert found.status_code == 200 and found.json()["id"] == tq

    denied = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert {e.target_id for e in denied} == {cn, tq}


def test_registering_in_another_commune_is_refused(
    client: TestClient, staff: Staff, session: Session
) -> None:
    response = client.post(
        "/api/v1/learners", json=learner_payload(TQ_COMMUNE), headers=staff["hk_member"]
    )
    assert response.status_code == 404
    unknown = client.post(
        "/api/v1/learners", json=learner_payload("99999"), headers=staff["national"]
    )
    assert unknown.status_code == 422
    assert _count(session) == 0


def test_search_without_diacritics_and_paging(client: TestClient, staff: Staff) -> None:
    names = ["Nguyễn Văn An", "Nguyễn Thị Ánh", "Trần Đức Nguyên", "Đặng Văn Hải", "Lê Văn An"]
    for serial, name in enumerate(names, start=1):
        _register(client, staff, "hk_member", learner_payload(HN_HOAN_KIEM, serial, full_name=name))

    def search(q: str) -> list[str]:
        response = client.get("/api/v1/learners", params={"q": q}, headers=staff["hk_admin"])
        return sorted(x["full_name"] for x in response.json()["items"])

    assert search("nguyen van an") == ["Nguyễn Văn An"]
    assert search("NGUYEN") == ["Nguyễn Thị Ánh", "Nguyễn Văn An", "Trần Đức Nguyên"]
    assert search("dang") == ["Đặng Văn Hải"]
    assert search("van an") == ["Lê Văn An", "Nguyễn Văn An"]
    assert search("%") == []

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/learners", params=params, headers=staff["hk_admin"]).json()
        assert len(page["items"]) <= 2
        seen += [x["full_name"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(names)


def test_update_rechecks_rules(client: TestClient, staff: Staff, session: Session) -> None:
    first = learner_payload(HN_HOAN_KIEM, 1)
    learner_id = _register(client, staff, "hk_member", first)
    second = learner_payload(HN_HOAN_KIEM, 2)
    _register(client, staff, "hk_member", second)
    url = f"/api/v1/learners/{learner_id}"
    headers = staff["hk_member"]

    official = client.patch(url, json={"groups": ["citizen", "official"]}, headers=headers)
    assert official.status_code == 422
    ok = client.patch(
        url,
        json={
            "groups": ["citizen", "official"],
            "official_level": "commune",
            "agency": "UBND phường Hoàn Kiếm",
            "full_name": "Nguyễn Văn Bình",
        },
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["groups"] == ["citizen", "official"]
    assert ok.json()["official_level"] == "commune"

    wrong_birth = client.patch(url, json={"birth_date": "1986-04-12"}, headers=headers)
    assert wrong_birth.status_code == 422
    assert wrong_birth.json()["errors"][0]["loc"] == ["body", "citizen_id"]
    taken = client.patch(url, json={"citizen_id": second["citizen_id"]}, headers=headers)
    assert taken.status_code == 409
    moved = client.patch(url, json={"commune_code": TQ_COMMUNE}, headers=headers)
    assert moved.status_code == 422
    nulled = client.patch(url, json={"full_name": None}, headers=headers)
    assert nulled.status_code == 422
    corrected = citizen_id_for(date(1985, 4, 12), "male", serial=77)
    fixed = client.patch(url, json={"citizen_id": corrected}, headers=headers)
    assert fixed.status_code == 200
    assert fixed.json()["citizen_id_masked"].endswith(corrected[-4:])
    current = client.get(url, headers=headers).json()
    assert current["full_name"] == "Nguyễn Văn Bình"
    assert current["groups"] == ["citizen", "official"]


def test_erasure_removes_identity_but_keeps_the_record_for_counts(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = learner_payload(HN_HOAN_KIEM, full_name="Võ Thị Sáu", sex="female", phone="0987654321")
    learner_id = _register(client, staff, "hk_member", body)
    assert (
        client.delete(f"/api/v1/learners/{learner_id}", headers=staff["hk_member"]).status_code
        == 403
    )
    erased = client.delete(f"/api/v1/learners/{learner_id}", headers=staff["hk_admin"])
    assert erased.status_code == 204
    assert (
        client.get(f"/api/v1/learners/{learner_id}", headers=staff["hk_admin"]).status_code == 404
    )
    assert client.get("/api/v1/learners", headers=staff["hk_admin"]).json()["items"] == []
    row = session.exec(select(Learner)).one()
    assert row.erased_at is not None
    assert (row.full_name, row.citizen_id_hash, row.citizen_id_enc, row.phone) == (
        "",
        None,
        None,
        None,
    )
    assert (row.commune_code, row.birth_date, row.is_citizen) == (
        HN_HOAN_KIEM,
        date(1985, 4, 12),
        True,
    )
    dump = repr(row.model_dump())
    assert "Võ Thị Sáu" not in dump and body["citizen_id"] not in dump


def test_reads_and_writes_are_audited(client: TestClient, staff: Staff, session: Session) -> None:
    learner_id = _register(client, staff, "hk_member", learner_payload(HN_HOAN_KIEM))
    client.get(f"/api/v1/learners/{learner_id}", headers=staff["hk_admin"])
    client.patch(
        f"/api/v1/learners/{learner_id}", json={"phone": "0911111111"}, headers=staff["hk_admin"]
    )
    client.get(f"/api/v1/learners/{learner_id}", headers=staff["tq_admin"])
    events = session.exec(
        select(AuditEvent).where(AuditEvent.target_id == learner_id).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.outcome) for e in events] == [
        ("learner.create", "success"),
        ("learner.read", "success"),
        ("learner.update", "success"),
        ("learner.read", "denied"),
    ]
    assert all(e.request_id and e.request_id != "-" for e in events)
    assert events[0].commune_code == HN_HOAN_KIEM
    assert events[1].actor_id == f"user:{staff.users['hk_admin'].id}"


def test_personal_id_never_reaches_the_logs(
    client: TestClient, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = learner_payload(HN_HOAN_KIEM)
    client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    bad = {**body, "citizen_id": body["citizen_id"][:-1] + "x"}
    client.post("/api/v1/learners", json=bad, headers=staff["hk_member"])
    client.post(
        "/api/v1/learners/lookup",
        json={"citizen_id": body["citizen_id"]},
        headers=staff["hk_member"],
    )
    assert body["citizen_id"] not in caplog.text
    assert bad["citizen_id"] not in caplog.text


def test_oversized_body_answers_413_and_stores_nothing(
    client: TestClient, staff: Staff, session: Session
) -> None:
    body = learner_payload(HN_HOAN_KIEM, full_name="A" * (3 * 1024 * 1024))
    response = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert _count(session) == 0


def test_malformed_json_is_a_problem(client: TestClient, staff: Staff) -> None:
    response = client.post(
        "/api/v1/learners",
        content=b'{"citizen_id": ',
        headers={**staff["hk_member"], "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_retry_with_the_same_client_id_answers_the_stored_learner(
    client: TestClient, staff: Staff, session: Session
) -> None:
    client_id = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
    body = learner_payload(HN_HOAN_KIEM, client_id=client_id)
    first = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    again = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    reused = client.post(
        "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, 2, client_id=client_id),
        headers=staff["hk_member"],
    )
    assert reused.status_code == 409
    assert _count(session) == 1


def test_concurrent_registrations_store_each_person_once(
    client: TestClient, staff: Staff, session: Session
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    headers = staff["hk_member"]
    same_person = learner_payload(HN_HOAN_KIEM, 999)
    bodies = [learner_payload(HN_HOAN_KIEM, n) for n in range(1, 13)] + [same_person] * 6

    def post(body: dict[str, object]) -> int:
        return client.post("/api/v1/learners", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, bodies))
    assert statuses[:12] == [201] * 12
    assert sorted(statuses[12:]) == [201] + [409] * 5
    assert _count(session) == 13


@pytest.mark.parametrize(
    "sent", ["2026-03-01T09:00:00+07:00", "2026-03-01T02:00:00Z", "2026-03-01T02:00:00"]
)
def test_consent_time_comes_back_in_utc_on_create_and_read(
    client: TestClient, staff: Staff, sent: str
) -> None:
    payload = learner_payload(
        HN_HOAN_KIEM, consent={"purpose": "Theo dõi kết quả học", "given_at": sent}
    )
    created = client.post("/api/v1/learners", json=payload, headers=staff["hk_member"])
    assert created.status_code == 201, created.text
    read = client.get(f"/api/v1/learners/{created.json()['id']}", headers=staff["hk_member"])
    assert created.json()["consent"] == read.json()["consent"]
    assert read.json()["consent"]["given_at"] == "2026-03-01T02:00:00Z"
    assert created.json()["created_at"] == read.json()["created_at"]


def test_a_villages_learners_are_listed_in_any_scope_that_covers_them(
    client: TestClient, staff: Staff
) -> None:
    villages = [
        client.post(
            f"/api/v1/communes/{HN_HOAN_KIEM}/villages",
            headers=staff["hk_admin"],
            json={"name": name},
        ).json()["id"]
        for name in ("Thôn Một", "Thôn Hai")
    ]
    stored = {}
    for serial, village in ((1, villages[0]), (2, villages[1]), (3, None)):
        answer = client.post(
            "/api/v1/learners",
            json=learner_payload(HN_HOAN_KIEM, serial=serial, village_id=village),
            headers=staff["hk_member"],
        )
        assert answer.status_code == 201, answer.text
        stored[serial] = answer.json()["id"]
    for who in ("hk_member", "hn_admin", "national"):
        listed = client.get(
            "/api/v1/learners", params={"village_id": villages[0]}, headers=staff[who]
        )
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == [stored[1]]
    # Another commune's staff see none of it.
    elsewhere = client.get(
        "/api/v1/learners", params={"village_id": villages[0]}, headers=staff["tq_member"]
    )
    assert elsewhere.status_code == 200 and elsewhere.json()["items"] == []
