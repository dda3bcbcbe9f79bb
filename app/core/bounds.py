"""Values the databases can hold: the one place each input bound is written.

PostgreSQL's `integer` stops at 2^31 - 1 and its text cannot hold a NUL character; dates far
from today overflow date arithmetic and time zones. A value past these is a field problem
(422), found while parsing, so a sync batch or an import refuses that one record, never the
batch. `InputModel` checks every text and integer of a request body, however nested; the
typed aliases below also tell the OpenAPI document the bounds.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from app.core.clock import VIETNAM

MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
# Every date the service records or reports on lies in these years.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(hours=1)

Id = Annotated[int, Field(ge=1, le=MAX_INT)]


def id_path(description: str) -> Any:
    """A path parameter naming a row by its integer id."""
    return Path(ge=1, le=MAX_INT, description=description)


def id_query(description: str) -> Any:
    return Query(ge=1, le=MAX_INT, description=description)


def has_nul(text: str) -> bool:
    return "\x00" in text


# Values that hold neither text nor an integer of their own: nothing to check. A nested
# model has checked its own fields already.
_INERT = (type(None), bool, float, date, datetime, uuid.UUID, BaseModel)


def _check(value: Any) -> None:
    """Raise the field problem for a NUL in text or an integer beyond the database's."""
    if isinstance(value, _INERT):
        return
    if isinstance(value, str):
        if has_nul(value):
            raise PydanticCustomError("text.nul", "Text cannot contain a NUL character")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            raise PydanticCustomError(
                "int.range",
                "The number must lie between {low} and {high}",
                {"low": MIN_INT, "high": MAX_INT},
            )
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key)
            _check(item)


def within_days(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "date.range",
            "The date must lie between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


def _not_in_future(value: datetime) -> datetime:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=VIETNAM)
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise PydanticCustomError("datetime.future", "The time cannot be in the future")
    return value


Day = Annotated[date, AfterValidator(within_days)]
Moment = Annotated[datetime, AfterValidator(within_days)]
PastMoment = Annotated[datetime, AfterValidator(within_days), AfterValidator(_not_in_future)]


class InputModel(BaseModel):
    """A request body: no field's text holds a NUL, no integer passes the database's."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check(value)
        return value
