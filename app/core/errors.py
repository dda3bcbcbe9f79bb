"""Domain errors and their RFC 9457 problem+json rendering."""

from collections.abc import Mapping, Sequence
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


class DomainError(Exception):
    """An expected failure a service reports; one handler renders it as problem+json."""

    status = 400
    slug = "invalid"
    title_key = "invalid.title"

    def __init__(
        self,
        detail_key: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        audit_action: str | None = None,
        audit_target: str | None = None,
        audit_commune: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **params: object,
    ) -> None:
        super().__init__(detail_key or self.slug)
        self.detail_key = detail_key
        self.params = params
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        # A denial worth an audit event (forbidden, out of scope, throttled).
        self.audit_action = audit_action
        self.audit_target = audit_target
        self.audit_commune = audit_commune
        self.extra = dict(extra or {})


class Invalid(DomainError):
    status = 422
    slug = "validation"
    title_key = "validation.title"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title_key = "not_found.title"

    def __init__(self, what: str = "what.resource", **kwargs: Any) -> None:
        super().__init__("not_found.detail", what=what, **kwargs)


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title_key = "conflict.title"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title_key = "forbidden.title"

    def __init__(self, detail_key: str = "forbidden.detail", **kwargs: Any) -> None:
        super().__init__(detail_key, **kwargs)


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title_key = "unauthorized.title"

    def __init__(self, detail_key: str = "unauthorized.detail", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail_key, **kwargs)


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title_key = "too_many.title"


def field_error(field: str, key: str, **params: object) -> dict[str, Any]:
    """One entry of a problem's `errors` list, for a rule a service checks."""
    return {"loc": ["body", field], "type": key, "params": params}


def invalid_field(field: str, key: str, **params: object) -> Invalid:
    """A 422 about one field, rendered like a validation error."""
    return Invalid("validation.detail", errors=[field_error(field, key, **params)])
