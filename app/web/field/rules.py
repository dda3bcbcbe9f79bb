"""The rules the phone checks before sending, served as data from the service's own.

The phone holds no copy of its own: it reads this document (cached for offline use) and
checks a learner the way `app.learners` does, and a result the way `app.training` does, field
by field, with the service's messages.
"""

from typing import Any

from app.core import citizen_id
from app.core.bounds import FIRST_DAY, LAST_DAY
from app.core.i18n import MESSAGES, VALIDATION_TYPES, translate
from app.learners.models import Group, OfficialLevel, Sex
from app.learners.schemas import LearnerCreate
from app.learners.service import OLDEST_BIRTH_YEAR
from app.training.models import Method
from app.training.schemas import CompletionCreate

# Fields whose length and pattern constraints the phone applies, as the schema states them.
_CONSTRAINED = ("citizen_id", "full_name", "agency", "phone")

# Message keys the phone may show: the service's rules and the validation types it can hit.
_MESSAGE_KEYS = (
    "citizen_id.shape",
    "citizen_id.province",
    "citizen_id.century",
    "citizen_id.year",
    "birth_date.future",
    "birth_date.too_old",
    "official.level_required",
    "official.only",
    "village.other_commune",
    "missing",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "date_from_datetime_parsing",
    "enum",
    "too_short",
    # A result's.
    "course.unknown",
    "course.inactive",
    "completion.future",
    "completion.before_birth",
    "datetime_from_date_parsing",
    "float_parsing",
    "greater_than_equal",
    "less_than_equal",
)


def _constraints() -> dict[str, dict[str, Any]]:
    properties = LearnerCreate.model_json_schema()["properties"]
    found: dict[str, dict[str, Any]] = {}
    for name in _CONSTRAINED:
        schema = properties[name]
        # Optional fields are `anyOf: [{...}, {"type": "null"}]`.
        for option in schema.get("anyOf", [schema]):
            if option.get("type") == "string":
                found[name] = {
                    k: option[k] for k in ("minLength", "maxLength", "pattern") if k in option
                }
    return found


def _message(key: str) -> dict[str, str]:
    vi, en = MESSAGES[key] if key in MESSAGES else VALIDATION_TYPES[key]
    return {"vi": vi, "en": en}


def _date_range_message() -> dict[str, str]:
    # With the bounds filled in, as the service's own answer states them.
    bounds = {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
    return {lang: translate("date.range", lang, **bounds) for lang in ("vi", "en")}


def _completion_rules() -> dict[str, Any]:
    properties = CompletionCreate.model_json_schema()["properties"]
    code = properties["course_code"]
    return {
        "course_code": {k: code[k] for k in ("pattern",) if k in code},
        "score": {k: properties["score"][k] for k in ("minimum", "maximum")},
        "methods": [m.value for m in Method],
        "first_day": FIRST_DAY.isoformat(),
        "last_day": LAST_DAY.isoformat(),
    }


def rules_document() -> dict[str, Any]:
    """What a phone needs to check a learner as the service does."""
    return {
        "province_codes": sorted(citizen_id.PROVINCE_CODES),
        "century_digits": {
            str(year): list(digits) for year, digits in citizen_id.CENTURY_DIGITS.items()
        },
        "oldest_birth_year": OLDEST_BIRTH_YEAR,
        "sexes": [s.value for s in Sex],
        "groups": [g.value for g in Group],
        "official_group": Group.official.value,
        "official_levels": [level.value for level in OfficialLevel],
        "constraints": _constraints(),
        "completion": _completion_rules(),
        "messages": {key: _message(key) for key in _MESSAGE_KEYS}
        | {"date.range": _date_range_message()},
    }
