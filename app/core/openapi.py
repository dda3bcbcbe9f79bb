"""The OpenAPI document declares the problems each operation answers, as problem+json.

FastAPI declares only a 422 per operation, as `application/json` with its own error shape;
every error this service answers is an RFC 9457 problem (`app.core.problems`). The statuses
follow from what an operation is: signed in (401, 403, and 404 outside the caller's scope), a
path naming an object (404), a body (413, 422), a write (409), a sign-in (401, 429), and a clash
with another transaction (503) for every operation that reads the database.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, in Vietnamese (default) or English",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "type", "msg"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "type": {"type": "string"},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
DESCRIPTIONS = {
    "401": "Chưa xác thực / Not signed in, or the token is not valid",
    "403": "Không được phép / The caller's role may not do this",
    "404": "Không tìm thấy / Not found, or outside the caller's scope",
    "409": "Xung đột / Conflicts with what is stored",
    "413": "Quá lớn / The body is too large",
    "422": "Dữ liệu không hợp lệ / Invalid input; field problems under `errors`",
    "429": "Quá nhiều yêu cầu / Too many attempts; see `Retry-After`",
    "503": "Hệ thống bận / Clashed with another request; nothing changed, send it again",
}
SIGN_IN_PATHS = ("/api/v1/auth/token", "/api/v1/auth/vneid")
# Answered from memory or files, without the database.
NO_DATABASE_PATHS = ("/.well-known/jwks.json",)
WRITES = ("post", "put", "patch", "delete")


def statuses(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    """The error statuses an operation answers."""
    found = {"503"} if path not in NO_DATABASE_PATHS else set()
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if parameters or has_body:
        found.add("422")
    if has_body:
        found.add("413")
    if operation.get("security"):
        found |= {"401", "403", "404"}
        if method in WRITES:
            found.add("409")
    if any(p.get("in") == "path" for p in parameters):
        found.add("404")
    if path in SIGN_IN_PATHS:
        found |= {"401", "429"}
    return found


def declare_problems(schema: dict[str, Any]) -> None:
    """Add the problem+json answers to every operation of `schema`, in place."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses(path, method, operation)):
                declared = responses.setdefault(status, {})
                if declared.get("description") in (None, "", "Validation Error"):
                    declared["description"] = DESCRIPTIONS[status]
                declared["content"] = problem_content


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` declare the problems (once; FastAPI keeps the document)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_problems(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
