"""Problems of single records in a batch, shaped like problem+json bodies.

A record's problem is kept as language-neutral data (`ProblemData`: message keys and
parameters) so it can be stored, then rendered in the reader's language. Submitted values are
never part of it: they may hold personal ID numbers.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from app.core.errors import DomainError
from app.core.i18n import Language, translate
from app.core.problems import PROBLEM_BASE, _render_errors

ProblemData = dict[str, Any]


def from_error(error: DomainError) -> ProblemData:
    """The storable description of a domain error."""
    data: ProblemData = {
        "slug": error.slug,
        "status": error.status,
        "title_key": error.title_key,
        "detail_key": error.detail_key,
        "params": {k: v for k, v in error.params.items() if isinstance(v, str | int | float)},
        "errors": [
            {
                "loc": list(e.get("loc", [])),
                "type": str(e.get("type", "value_error")),
                "params": _safe(e.get("params") or {}),
            }
            for e in error.errors
        ],
    }
    existing = error.extra.get("existing_id")
    if existing is not None:
        data["existing_id"] = str(existing)
    # A record on the old map: the new communes to choose from, or where to look a code up.
    for member in ("candidates", "legacy_commune"):
        if member in error.extra:
            data[member] = error.extra[member]
    return data


def from_validation(error: ValidationError, prefix: Sequence[str | int] = ("body",)) -> ProblemData:
    """The storable description of a record that failed its schema."""
    return {
        "slug": "validation",
        "status": 422,
        "title_key": "validation.title",
        "detail_key": "validation.detail",
        "params": {},
        "errors": [
            {
                "loc": [*prefix, *e["loc"]],
                "type": e["type"],
                "params": _safe(e.get("ctx") or {}),
                "msg": e["msg"],
            }
            for e in error.errors(include_input=False, include_url=False)
        ],
    }


def render(
    problem: ProblemData, lang: Language, loc_prefix: Sequence[str | int] | None = None
) -> dict[str, Any]:
    """The problem+json body of one record's problem, in `lang`.

    Field locations are re-rooted at `loc_prefix` (e.g. `["body", "learners", 3]`).
    """
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem["slug"],
        "title": translate(problem["title_key"], lang),
        "status": problem["status"],
    }
    if problem.get("detail_key"):
        body["detail"] = translate(problem["detail_key"], lang, **problem.get("params", {}))
    if problem.get("errors"):
        raw = []
        for error in problem["errors"]:
            loc = list(error.get("loc", []))
            if loc_prefix is not None:
                loc = [*loc_prefix, *loc[1:]]
            raw.append({**error, "loc": loc})
        body["errors"] = _render_errors(raw, lang)
    for member in ("existing_id", "candidates", "legacy_commune"):
        if problem.get(member):
            body[member] = problem[member]
    return body


def _safe(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}
