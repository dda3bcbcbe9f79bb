"""Turning the API's refusals into messages beside a form's fields."""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from app.core.errors import DomainError
from app.core.i18n import Language, translate, validation_message


def _field_of(loc: Sequence[Any]) -> str:
    # ("body", "citizen_id") or ("citizen_id",) or ("consent", "purpose") -> the form's name.
    parts = [str(p) for p in loc if p not in ("body", "query", "path") and not isinstance(p, int)]
    return parts[0] if parts else "__all__"


def field_errors(
    errors: Sequence[Mapping[str, Any]], lang: Language, *, renames: Mapping[str, str] = {}
) -> dict[str, str]:
    """Field name -> the API's message, for raw errors (pydantic's or a `DomainError`'s).

    `renames` maps an error's location to the form's field where the two differ.
    """
    result: dict[str, str] = {}
    for error in errors:
        name = _field_of(error.get("loc", ()))
        name = renames.get(name, name)
        params = dict(error.get("params") or error.get("ctx") or {})
        safe = {k: v for k, v in params.items() if isinstance(v, str | int | float)}
        message = validation_message(
            str(error.get("type", "value_error")), str(error.get("msg", "")), lang, **safe
        )
        result.setdefault(name, message)
    return result


def validation_errors(exc: ValidationError, lang: Language, **kwargs: Any) -> dict[str, str]:
    """The messages of a model the form's values did not fit (never echoing the values)."""
    raw = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return field_errors(raw, lang, **kwargs)


def domain_errors(exc: DomainError, lang: Language, **kwargs: Any) -> dict[str, str]:
    """A service's refusal: its field problems, or its detail under `__all__`."""
    errors = field_errors(exc.errors, lang, **kwargs)
    if not errors and exc.detail_key:
        errors["__all__"] = translate(exc.detail_key, lang, **exc.params)
    return errors
