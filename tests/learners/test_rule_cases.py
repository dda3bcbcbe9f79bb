"""The service answers every case of the shared table as the table says (the phone is held to
the same table in tests/web/field)."""

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, Staff
from tests.learners import rule_cases


def _village(client: TestClient, staff: Staff, who: str, commune: str) -> int:
    response = client.post(
        f"/api/v1/communes/{commune}/villages", json={"name": "Thôn Đông"}, headers=staff[who]
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _as_api_body(learner: dict[str, Any]) -> dict[str, Any]:
    body = {**learner, "commune_code": HN_HOAN_KIEM}
    if body.pop("consent", False):
        body["consent"] = {
            "purpose": rule_cases.CONSENT_PURPOSE,
            "given_at": "2026-03-01T09:00:00+07:00",
        }
    return body


def test_the_service_answers_every_shared_case_as_the_table_says(
    client: TestClient, staff: Staff
) -> None:
    table = rule_cases.load()
    villages = {
        "own": _village(client, staff, "hk_admin", HN_HOAN_KIEM),
        "other": _village(client, staff, "cn_admin", HN_CUA_NAM),
    }
    disagreements = []
    for case in table["cases"]:
        body = _as_api_body(rule_cases.learner_of(table, case, villages=villages))
        response = client.post("/api/v1/learners", json=body, headers=staff["hk_member"])
        if response.status_code == 201:
            got = []
        else:
            assert response.status_code == 422, (case["name"], response.text)
            got = sorted((e["loc"][1], e["type"]) for e in response.json()["errors"])
        if got != rule_cases.expected(case):
            disagreements.append((case["name"], got))
    assert disagreements == []


# The table's two course placeholders: one that is taught, one no longer taught.
COURSES = {"active": "CB-VNEID", "inactive": "CB-AI"}


def test_the_service_answers_every_shared_result_case_as_the_table_says(
    client: TestClient, staff: Staff
) -> None:
    table = rule_cases.load()
    retired = client.patch(
        f"/api/v1/courses/{COURSES['inactive']}", json={"active": False}, headers=staff["national"]
    )
    assert retired.status_code == 200, retired.text
    learner = _as_api_body({**table["base"], "citizen_id": "001085000901"})
    created = client.post("/api/v1/learners", json=learner, headers=staff["hk_member"])
    assert created.status_code == 201, created.text
    disagreements = []
    for case in table["completion"]["cases"]:
        body = rule_cases.completion_of(table, case, courses=COURSES)
        body["learner_id"] = created.json()["id"]
        response = client.post("/api/v1/completions", json=body, headers=staff["hk_member"])
        if response.status_code in (200, 201):
            got = []
        else:
            assert response.status_code == 422, (case["name"], response.text)
            got = sorted((e["loc"][-1], e["type"]) for e in response.json()["errors"])
        if got != rule_cases.expected(case):
            disagreements.append((case["name"], got))
    assert disagreements == []
