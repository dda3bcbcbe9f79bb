"""Accent-insensitive name search: every word of the query starts a word of the name."""

from typing import Any

from sqlalchemy import ColumnElement, literal

from app.core.text import fold


def name_matches(folded_column: Any, query: str | None) -> list[ColumnElement[bool]]:
    """Conditions on a folded-name column for a free-text query ("nguyen van" → Nguyễn Văn …)."""
    spaced = literal(" ") + folded_column
    return [spaced.contains(" " + word, autoescape=True) for word in fold(query or "").split()]
