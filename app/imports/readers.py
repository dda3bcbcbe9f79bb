"""Reading uploaded CSV and XLSX files row by row, never holding a whole file in memory.

CSV: UTF-8 with or without a byte-order mark (Excel writes one), `;` or `,` between cells
(Excel in a Vietnamese locale writes `;`). XLSX: the first sheet, read in openpyxl's streaming
(read-only) mode; date cells arrive as real dates.
"""

import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.core.spreadsheets import restore

# One cell as read: text from CSV; text, numbers or dates from XLSX.
Cell = str | int | float | date | datetime | None
# Spreadsheets count the header as row 1, so the first data row is row 2.
FIRST_DATA_ROW = 2
XLSX_MAGIC = b"PK\x03\x04"
# csv's default field limit is 128 KiB; no cell of ours comes close to this.
csv.field_size_limit(64 * 1024)


class FileProblem(Exception):
    """The file as a whole cannot be read; `key` is the message saying why."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class Sheet:
    header: list[str]
    # (row number as a spreadsheet shows it, cells), blank rows left out.
    rows: Iterator[tuple[int, list[Cell]]]


# Files people upload by mistake: PDF, old Excel and Word (.xls, .doc), images, archives.
_NOT_SHEETS = (b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")


def detect_format(path: Path) -> str:
    """`xlsx` for an Excel workbook, `csv` for text; FileProblem for anything else."""
    with path.open("rb") as stream:
        head = stream.read(4096)
    if head.startswith(XLSX_MAGIC):
        # A .docx or .zip is a zip container too: only a workbook has xl/workbook.xml.
        try:
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        raise FileProblem("import.not_csv_or_xlsx")
    if head.startswith(_NOT_SHEETS) or b"\x00" in head:
        raise FileProblem("import.not_csv_or_xlsx")
    return "csv"


@contextmanager
def open_sheet(path: Path, file_format: str) -> Iterator[Sheet]:
    """The file's header and a stream of its rows."""
    if file_format == "xlsx":
        with _open_xlsx(path) as sheet:
            yield sheet
    else:
        with _open_csv(path) as sheet:
            yield sheet


@contextmanager
def _open_csv(path: Path) -> Iterator[Sheet]:
    with path.open("rb") as raw:
        # utf-8-sig drops a leading byte-order mark when there is one.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            first = text.readline()
        except UnicodeDecodeError:
            raise FileProblem("import.encoding") from None
        if not first.strip():
            raise FileProblem("import.empty")
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
        header = [restore(h.strip()) for h in next(reader)]
        yield Sheet(header=header, rows=_csv_rows(reader))


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[Cell]]]:
    number = FIRST_DATA_ROW - 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise FileProblem("import.encoding") from None
        except csv.Error:
            raise FileProblem("import.unreadable") from None
        number += 1
        stripped = [value.strip() for value in row]
        # Only a cell the service neutralized (a leading ') needs restoring.
        cells: list[Cell] = [
            (restore(value) if value.startswith("'") else value) or None for value in stripped
        ]
        if any(cells):  # text cells: every one that is not None is non-empty
            yield number, cells


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Sheet]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise FileProblem("import.unreadable") from None
    try:
        if not workbook.worksheets:
            raise FileProblem("import.empty")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        try:
            first = next(rows, None)
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise FileProblem("import.unreadable") from None
        if first is None or all(v is None for v in first):
            raise FileProblem("import.empty")
        header = [restore(str(v).strip()) if v is not None else "" for v in first]
        while header and not header[-1]:
            header.pop()
        yield Sheet(header=header, rows=_xlsx_rows(rows, len(header)))
    finally:
        workbook.close()


def _xlsx_rows(rows: Iterator[tuple[Any, ...]], width: int) -> Iterator[tuple[int, list[Cell]]]:
    number = FIRST_DATA_ROW - 1
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise FileProblem("import.unreadable") from None
        number += 1
        cells = [_xlsx_cell(v) for v in values[:width]]
        if any(cell is not None for cell in cells):
            yield number, cells


def _xlsx_cell(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, str):
        return restore(value.strip()) or None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime | date | int | float):
        return value
    if isinstance(value, time):
        return value.isoformat()
    return str(value)
