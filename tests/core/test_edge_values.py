"""Values the databases cannot hold answer field problems (404/422), never 500, and one such
record refuses only itself: in a sync batch, in an import."""

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import HN_HOAN_KIEM, Staff, learner_payload
from tests.imports.helpers import LEARNER_HEADER_EN, csv_bytes, imported

TOO_BIG = 2**31
NUL = "\x00"


def problem_types(response: Any) -> dict[str, str]:
    """`errors` of a 422 problem as {field: type}."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {str(e["loc"][-1]): e["type"] for e in response.json()["errors"]}


def cursor_of(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": str(key)}).encode()).decode().rstrip("=")


def register(client: TestClient, staff: Staff, serial: int, **overrides: Any) -> Any:
    return client.post(
        "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, serial, **overrides),
        headers=staff["hk_admin"],
    )


def test_integers_beyond_the_database_answer_404_or_422(client: TestClient, staff: Staff) -> None:
    headers = staff["national"]
    assert client.get(f"/api/v1/teams/{TOO_BIG}", headers=headers).status_code in (404, 422)
    response = client.get(f"/api/v1/learners?village_id={TOO_BIG}", headers=headers)
    assert problem_types(response) == {"village_id": "less_than_equal"}
    assert problem_types(register(client, staff, 1, village_id=TOO_BIG)) == {
        "village_id": "int.range"
    }
    user = {
        "username": "to.truong",
        "password": "mot-mat-khau-dai",
        "full_name": "Lê Văn Tú",
        "role": "team_member",
        "team_id": TOO_BIG,
    }
    response = client.post("/api/v1/users", json=user, headers=staff["hk_admin"])
    assert problem_types(response) == {"team_id": "int.range"}
    for path in ("/api/v1/users", "/api/v1/teams"):
        response = client.get(path, params={"cursor": cursor_of(TOO_BIG)}, headers=headers)
        assert response.status_code == 422, response.text


def test_nul_in_text_is_a_field_problem(client: TestClient, staff: Staff) -> None:
    assert problem_types(register(client, staff, 1, full_name=f"Nguyễn{NUL}An")) == {
        "full_name": "text.nul"
    }
    consent = {"purpose": f"Học{NUL}tập", "given_at": "2026-03-01T09:00:00+07:00"}
    assert problem_types(register(client, staff, 2, consent=consent)) == {"purpose": "text.nul"}
    official = {"groups": ["official"], "official_level": "commune", "agency": f"UBND{NUL}"}
    assert problem_types(register(client, staff, 3, **official)) == {"agency": "text.nul"}
    headers = {**staff["national"], "Accept-Language": "en"}
    for path in ("/api/v1/communes", "/api/v1/learners"):
        response = client.get(path, params={"q": f"ha{NUL}noi"}, headers=headers)
        assert problem_types(response) == {"q": "text.nul"}
        assert response.json()["errors"][0]["msg"] == "Text cannot contain a NUL character."
    response = client.get("/api/v1/users", params={"cursor": cursor_of(f"1{NUL}")}, headers=headers)
    assert response.status_code == 422, response.text
    # The sign-in is open to anyone: its form is checked too.
    response = client.post(
        "/api/v1/auth/token", data={"username": f"national{NUL}", "password": "x" * 12}
    )
    assert problem_types(response) == {"username": "text.nul"}
    learner = register(client, staff, 4).json()
    patched = client.patch(
        f"/api/v1/learners/{learner['id']}", json={"full_name": NUL * 3}, headers=headers
    )
    assert problem_types(patched) == {"full_name": "text.nul"}


def test_one_bad_record_never_sinks_a_sync_batch(client: TestClient, staff: Staff) -> None:
    good = [learner_payload(HN_HOAN_KIEM, n, client_id=str(uuid.uuid4())) for n in (1, 2)]
    with_nul = learner_payload(HN_HOAN_KIEM, 3, client_id=str(uuid.uuid4()), full_name=f"A{NUL}B")
    far_past = learner_payload(
        HN_HOAN_KIEM,
        4,
        client_id=str(uuid.uuid4()),
        consent={"purpose": "Theo dõi", "given_at": "0001-01-01T00:00:00+07:00"},
    )
    too_big = learner_payload(HN_HOAN_KIEM, 5, client_id=str(uuid.uuid4()), village_id=TOO_BIG)
    completions = [
        {
            "client_id": str(uuid.uuid4()),
            "learner_client_id": good[0]["client_id"],
            "course_code": "CB-VNEID",
            "completed_at": when,
            "score": 90,
            "method": "home_visit",
        }
        for when in ("9999-12-31T23:59:59-07:00", "2026-03-14T09:30:00+07:00")
    ]
    response = client.post(
        "/api/v1/sync",
        json={"learners": [*good, with_nul, far_past, too_big], "completions": completions},
        headers=staff["hk_member"],
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    statuses = [r["status"] for r in results]
    assert statuses == [
        "created",
        "created",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    types = [[e["type"] for e in r["problem"]["errors"]] for r in results if r["problem"]]
    assert types == [["text.nul"], ["date.range"], ["int.range"], ["date.range"]]


def test_dates_far_from_today_are_field_problems(client: TestClient, staff: Staff) -> None:
    headers = staff["national"]
    for day in ("0001-01-01", "9999-12-31"):
        for path in (
            "/api/v1/stats/national",
            "/api/v1/stats/national/export.csv",
            "/api/v1/stats/national/provinces",
        ):
            response = client.get(path, params={"as_of": day}, headers=headers)
            assert problem_types(response) == {"as_of": "date.range"}, path
        response = client.get(
            "/api/v1/stats/national/timeseries", params={"from": day}, headers=headers
        )
        assert problem_types(response) == {"from": "date.range"}
    learner = register(client, staff, 1, birth_date=date(1990, 6, 1)).json()
    for when, problem in (
        ("0001-01-01T00:00:00+07:00", "date.range"),
        ("9999-12-31T23:59:59-07:00", "date.range"),
        ("1990-05-31", "completion.before_birth"),
    ):
        response = client.post(
            "/api/v1/completions",
            json={
                "learner_id": learner["id"],
                "course_code": "CB-VNEID",
                "completed_at": when,
                "score": 90,
                "method": "home_visit",
            },
            headers=staff["hk_admin"],
        )
        assert problem_types(response) == {"completed_at": problem}, when
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for given_at, problem in (
        (tomorrow, "datetime.future"),
        ("9999-12-31T00:00:00+07:00", "date.range"),
        ("0001-01-01T00:00:00+07:00", "date.range"),
    ):
        consent = {"purpose": "Theo dõi kết quả", "given_at": given_at}
        assert problem_types(register(client, staff, 2, consent=consent)) == {"given_at": problem}


@pytest.mark.parametrize("value", [1e308, float(TOO_BIG)])
def test_a_target_is_bounded(client: TestClient, staff: Staff, value: float) -> None:
    target = {
        "indicator": "adults_certified",
        "scope": {"level": "national"},
        "kind": "count",
        "value": value,
        "deadline": "2026-12-31",
    }
    response = client.put("/api/v1/targets", json=target, headers=staff["national"])
    assert problem_types(response) == {"value": "less_than_equal"}


def test_a_bad_row_never_fails_an_import(client: TestClient, staff: Staff) -> None:
    def row(serial: int, name: str = "Trần Thị Hoa", consent: str = "01/03/2026") -> list[str]:
        payload = learner_payload(HN_HOAN_KIEM, serial)
        return [
            payload["citizen_id"],
            name,
            "12/04/1985",
            "Nam",
            HN_HOAN_KIEM,
            "Người dân",
            consent,
        ]

    tomorrow = (date.today() + timedelta(days=2)).strftime("%d/%m/%Y")
    rows = [
        row(1),
        row(2, name=f"Trần{NUL}Hoa"),
        row(3, consent="01/01/0001"),
        row(4, consent=tomorrow),
    ]
    body = imported(client, staff["hk_admin"], csv_bytes(LEARNER_HEADER_EN, rows))
    assert body["status"] == "done", body
    assert (body["rows_stored"], body["rows_rejected"]) == (1, 3)
    reasons = {r["row"]: r["problem"]["errors"][0]["type"] for r in body["rejected"]}
    assert reasons[3] == "text.nul" and reasons[5] == "datetime.future"
