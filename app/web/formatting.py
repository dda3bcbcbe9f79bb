"""Vietnamese ways of writing numbers, rates and dates, as Jinja filters.

Vietnamese groups thousands with a dot and writes the decimal comma (`1.234`, `80,5 %`);
dates are day first (`03/12/2026`). English pages use the same filters with `lang="en"`.
"""

from datetime import date, datetime

from app.core.clock import VIETNAM
from app.core.i18n import Language


def format_number(value: float | int | None, lang: Language = "vi", digits: int = 0) -> str:
    """`1234567` → `1.234.567` (vi) or `1,234,567` (en); None → an en dash."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if lang == "en":
        return text
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_percent(fraction: float | None, lang: Language = "vi", digits: int = 1) -> str:
    """A fraction as a percentage: `0.805` → `80,5 %` (vi) or `80.5%` (en)."""
    if fraction is None:
        return "–"
    number = format_number(fraction * 100, lang, digits)
    return f"{number} %" if lang == "vi" else f"{number}%"


def format_date(value: date | datetime | str | None, lang: Language = "vi") -> str:
    """`dd/mm/yyyy` (a moment is shown on Vietnam's calendar); None → an en dash."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VIETNAM)
        value = value.date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | str | None, lang: Language = "vi") -> str:
    """`dd/mm/yyyy HH:MM` on Vietnam's clock."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(VIETNAM)
    return value.strftime("%d/%m/%Y %H:%M")
