"""Spreadsheet files the service writes (CSV and XLSX), made safe to open.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before looking) is run as a formula by Excel and LibreOffice: a name like
`=HYPERLINK(...)` in an export could leak data or run commands on the reader's machine.
Every writer here prefixes such text with an apostrophe, so it shows as plain text; `restore`
undoes that when such a file is uploaded again.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = str | int | float | date | datetime | None


def neutralize(value: Any) -> Any:
    """The value, with text a spreadsheet would run as a formula turned into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value: str) -> str:
    """Undo `neutralize` on text read back from a file the service wrote."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(neutralize(value) if isinstance(value, str) else value)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """A CSV file as text pieces: UTF-8 with a BOM (so Excel reads the diacritics), `,`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(UTF8_BOM)
    writer.writerow([_csv_text(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_text(v) for v in row])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(
    target: IO[bytes],
    sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]],
) -> None:
    """Write a workbook of (title, header, rows) sheets, row by row (constant memory)."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([neutralize(h) for h in header])
        for row in rows:
            sheet.append([_xlsx_value(v) for v in row])
    workbook.save(target)


def _xlsx_value(value: Cell) -> Cell:
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: write the wall-clock time as given.
        return value.replace(tzinfo=None)
    return neutralize(value)  # type: ignore[no-any-return]


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]) -> bytes:
    """A workbook as bytes, for small files such as templates."""
    buffer = io.BytesIO()
    write_xlsx(buffer, sheets)
    return buffer.getvalue()
