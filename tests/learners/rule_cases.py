"""The table of learner cases both the service and the field app's checks are tested against."""

import json
from pathlib import Path
from typing import Any

CASES_FILE = Path(__file__).with_name("learner_rule_cases.json")
CONSENT_PURPOSE = "Theo dõi kết quả học kỹ năng số"


def load() -> dict[str, Any]:
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def learner_of(
    table: dict[str, Any], case: dict[str, Any], *, villages: dict[str, int]
) -> dict[str, Any]:
    """The case's learner as the phone holds it: absent fields left out, villages resolved."""
    learner = {**table["base"], **case["learner"]}
    learner = {k: v for k, v in learner.items() if v is not None}
    if "village_id" in learner:
        learner["village_id"] = villages[learner["village_id"]]
    return learner


def expected(case: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((field, kind) for field, kind in case["errors"])


def completion_of(
    table: dict[str, Any], case: dict[str, Any], *, courses: dict[str, str]
) -> dict[str, Any]:
    """The case's result as the phone sends it: absent fields left out, courses resolved."""
    completion = {**table["completion"]["base"], **case["completion"]}
    completion = {k: v for k, v in completion.items() if v is not None}
    code = completion.get("course_code")
    if code is not None:
        completion["course_code"] = courses.get(code, code)
    return completion
