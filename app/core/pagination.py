"""Keyset pagination with opaque cursors."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from app.core.bounds import MAX_INT, MIN_INT, has_nul
from app.core.errors import Invalid

T = TypeVar("T")
Row = TypeVar("Row")


class Page[T](BaseModel):
    items: list[T]
    next_cursor: str | None = None


CursorQuery = Annotated[
    str | None, Query(max_length=200, description="Opaque cursor from the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500)")]


def encode_cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": str(key)}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise Invalid("bad_cursor.detail") from exc
    if not isinstance(key, str) or has_nul(key):
        raise Invalid("bad_cursor.detail")
    return key


def paginate[Row](
    session: Session,
    statement: SelectOfScalar[Row],
    *,
    key_column: Any,
    key_of: Callable[[Row], object],
    cursor: str | None,
    limit: int,
    parse_key: Callable[[str], object] = str,
) -> tuple[Sequence[Row], str | None]:
    """One page of `statement` ordered by a unique key, and the cursor of the next page."""
    if cursor is not None:
        try:
            after = parse_key(decode_cursor(cursor))
        except ValueError as exc:
            raise Invalid("bad_cursor.detail") from exc
        if isinstance(after, int) and not MIN_INT <= after <= MAX_INT:
            raise Invalid("bad_cursor.detail")
        statement = statement.where(key_column > after)
    rows = session.exec(statement.order_by(key_column).limit(limit + 1)).all()
    if len(rows) > limit:
        return rows[:limit], encode_cursor(key_of(rows[limit - 1]))
    return rows, None
