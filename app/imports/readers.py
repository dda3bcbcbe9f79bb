"""Reading uploaded CSV and XLSX files row by row, never holding a whole file in memory.

CSV: UTF-8 with or without a byte-order mark (Excel writes one), `;` or `,` between cells
(Excel in a Vietnamese locale writes `;`). XLSX: the first sheet, streamed part by part with
openpyxl's parsers (and defusedxml: no DTD, no entities); date cells arrive as real dates.
Every file is hostile until read: an XLSX's declared part sizes are checked before anything
is inflated, and a file holds at most `FileLimits.max_rows` rows.
"""

import csv
import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from app.core.bounds import MAX_INT
from app.core.config import Settings
from app.core.spreadsheets import restore

# One cell as read: text from CSV; text, numbers or dates from XLSX.
Cell = str | int | float | date | datetime | None
# Spreadsheets count the header as row 1, so the first data row is row 2.
FIRST_DATA_ROW = 2
XLSX_MAGIC = b"PK\x03\x04"
# csv's default field limit is 128 KiB; no cell of ours comes close to this.
csv.field_size_limit(64 * 1024)
STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"


class FileProblem(Exception):
    """The file as a whole cannot be read; `key` is the message saying why."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class FileLimits:
    """What a file may hold before reading it costs more than any real list needs."""

    max_rows: int = 2_000_000
    max_inflated_bytes: int = 2 * 1024**3
    max_shared_strings_bytes: int = 256 * 1024**2
    max_inflation_ratio: int = 100
    max_parts: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> "FileLimits":
        return cls(
            max_rows=settings.import_max_rows,
            max_inflated_bytes=settings.import_max_inflated_bytes,
            max_shared_strings_bytes=settings.import_max_shared_strings_bytes,
            max_inflation_ratio=settings.import_max_inflation_ratio,
            max_parts=settings.import_max_parts,
        )


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
    # Binary files are full of NULs; a text list may hold a stray one, refused in its row.
    if head.startswith(_NOT_SHEETS) or head.count(b"\x00") * 100 > len(head):
        raise FileProblem("import.not_csv_or_xlsx")
    return "csv"


@contextmanager
def open_sheet(
    path: Path, file_format: str, limits: FileLimits | None = None, *, header_only: bool = False
) -> Iterator[Sheet]:
    """The file's header and a stream of its rows (none with `header_only`)."""
    limits = limits or FileLimits()
    if file_format == "xlsx":
        with _open_xlsx(path, limits, header_only=header_only) as sheet:
            yield sheet
    else:
        with _open_csv(path, limits.max_rows) as sheet:
            yield sheet


@contextmanager
def _open_csv(path: Path, max_rows: int) -> Iterator[Sheet]:
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
        yield Sheet(header=header, rows=_csv_rows(reader, max_rows))


def _csv_rows(reader: Any, max_rows: int) -> Iterator[tuple[int, list[Cell]]]:
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
        if number - 1 > max_rows:
            raise FileProblem("import.too_many_rows", limit=str(max_rows))
        stripped = [value.strip() for value in row]
        # Only a cell the service neutralized (a leading ') needs restoring.
        cells: list[Cell] = [
            (restore(value) if value.startswith("'") else value) or None for value in stripped
        ]
        if any(cells):  # text cells: every one that is not None is non-empty
            yield number, cells


@contextmanager
def _open_xlsx(path: Path, limits: FileLimits, *, header_only: bool) -> Iterator[Sheet]:
    with _xlsx_problems():
        check_archive(path, limits)
        book = _Workbook(path, limits)
    try:
        with _xlsx_problems():
            # The header names cells of the shared-strings table by index: in the request, only
            # the strings up to the highest index it names are read, never the whole table.
            strings = _LazyStrings(book) if header_only else book.shared_strings()
            rows = book.rows(strings)
            first = next(rows, None)
            if first is None:
                raise FileProblem("import.empty")
            header_number, header_cells = first
            if header_number > MAX_INT:
                raise FileProblem("import.too_many_rows", limit=str(limits.max_rows))
            if isinstance(strings, _LazyStrings):
                strings.resolve()
            values = _values(header_cells, None, strings)
        if all(v is None for v in values):
            raise FileProblem("import.empty")
        header = [restore(str(v).strip()) if v is not None else "" for v in values]
        while header and not header[-1]:
            header.pop()
        data: Iterator[tuple[int, list[Cell]]] = (
            iter(())
            if header_only
            else _xlsx_rows(rows, len(header), header_number, strings, limits.max_rows)
        )
        yield Sheet(header=header, rows=data)
    finally:
        book.close()


# Parts smaller than this may inflate as much as they like: small parts of real files (styles,
# a short sheet of repeated cells) compress far beyond any ratio a bomb needs.
RATIO_FLOOR_BYTES = 16 * 1024 * 1024
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


def check_archive(path: Path, limits: FileLimits) -> None:
    """Refuse an XLSX whose parts would inflate beyond the limits, before any is inflated.

    zipfile stops reading a part at its declared size (and fails its checksum past it), so the
    sizes the archive declares bound what parsing can inflate.
    """
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
    if len(parts) > limits.max_parts:
        raise FileProblem("import.too_many_parts", limit=str(limits.max_parts))
    if sum(part.file_size for part in parts) > limits.max_inflated_bytes:
        raise FileProblem("import.inflated_too_large", limit=_mib(limits.max_inflated_bytes))
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_inflation_ratio:
            raise FileProblem("import.inflation_ratio", limit=str(limits.max_inflation_ratio))


def _mib(size: int) -> str:
    return str(size // (1024 * 1024))


class _Workbook:
    """An XLSX opened part by part with openpyxl's own parsers.

    openpyxl's read-only workbook reads the whole shared-strings table up front, scans every
    sheet without a `<dimension>` to size it, and yields an empty row for every missing row
    number (so `r="1e15"` costs 10^15 rows). Parsing the parts ourselves skips all three.
    """

    def __init__(self, path: Path, limits: FileLimits) -> None:
        self.reader = ExcelReader(str(path), read_only=True, data_only=True)
        try:
            self.reader.read_manifest()
            package: Any = self.reader.package
            strings_part = package.find(SHARED_STRINGS_TYPE)
            self.strings_path = strings_part.PartName[1:] if strings_part is not None else None
            if self.strings_path is not None:
                size = self.reader.archive.getinfo(self.strings_path).file_size
                if size > limits.max_shared_strings_bytes:
                    raise FileProblem(
                        "import.inflated_too_large", limit=_mib(limits.max_shared_strings_bytes)
                    )
            self.reader.read_workbook()
            apply_stylesheet(self.reader.archive, self.reader.wb)
            self.sheet_path = self._first_worksheet()
        except BaseException:
            self.close()
            raise

    def _first_worksheet(self) -> str:
        for _sheet, rel in self.reader.parser.find_sheets():
            if rel.target in self.reader.valid_files and "chartsheet" not in rel.Type:
                return str(rel.target)
        raise FileProblem("import.empty")

    def shared_strings(self) -> list[str]:
        if self.strings_path is None:
            return []
        with self.reader.archive.open(self.strings_path) as source:
            return list(read_string_table(source))

    def strings_numbered(self, wanted: set[int]) -> dict[int, str]:
        """The shared strings of these numbers, read no further than the last of them."""
        found: dict[int, str] = {}
        if self.strings_path is None or not wanted:
            return found
        last = max(wanted)
        with self.reader.archive.open(self.strings_path) as source:
            number = 0
            for _, node in iterparse(source):
                if node.tag == STRING_TAG:
                    if number in wanted:
                        text = Text.from_tree(node)
                        found[number] = text.content.replace("x005F_", "") if text else ""
                    node.clear()
                    number += 1
                    if number > last:
                        break
        return found

    def rows(self, strings: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """(row number, parsed cells) for each row the sheet holds, gaps skipped."""
        wb: Any = self.reader.wb
        with self.reader.archive.open(self.sheet_path) as source:
            parser = WorkSheetParser(
                source,
                strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            yield from parser.parse()

    def close(self) -> None:
        self.reader.archive.close()


class _LazyStrings:
    """Stands in for the shared-strings table while the header row is parsed."""

    def __init__(self, book: _Workbook) -> None:
        self.book = book
        self.wanted: set[int] = set()
        self.table: dict[int, str] = {}

    def __getitem__(self, index: int) -> "_StringRef":
        self.wanted.add(index)
        return _StringRef(index)

    def resolve(self) -> None:
        self.table = self.book.strings_numbered(self.wanted)


@dataclass(frozen=True)
class _StringRef:
    index: int


def _values(cells: list[dict[str, Any]], width: int | None, strings: Any) -> list[Any]:
    """A row's values by column (1-based columns; those past `width` dropped)."""
    last = max((cell["column"] for cell in cells), default=0)
    size = last if width is None else width
    values: list[Any] = [None] * size
    for cell in cells:
        column = cell["column"]
        if 1 <= column <= size:
            value = cell["value"]
            if isinstance(value, _StringRef):
                value = strings.table[value.index]
            values[column - 1] = value
    return values


def _xlsx_rows(
    rows: Iterator[tuple[int, list[dict[str, Any]]]],
    width: int,
    header_number: int,
    strings: Any,
    max_rows: int,
) -> Iterator[tuple[int, list[Cell]]]:
    previous = header_number
    with _xlsx_problems():
        for number, parsed in rows:
            if number <= previous:  # rows out of order: resuming after a row needs the order
                raise FileProblem("import.unreadable")
            # Row numbers are stored with the rejected rows: they must fit the database too.
            if number - header_number > max_rows or number > MAX_INT:
                raise FileProblem("import.too_many_rows", limit=str(max_rows))
            previous = number
            cells = [_xlsx_cell(v) for v in _values(parsed, width, strings)]
            if any(cell is not None for cell in cells):
                yield number, cells


@contextmanager
def _xlsx_problems() -> Iterator[None]:
    """Whatever a damaged or hostile XLSX makes the parsers raise, as a FileProblem."""
    try:
        yield
    except (ParseError, DefusedXmlException):
        raise FileProblem("import.malformed_xml") from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        InvalidFileException,
        EOFError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        OSError,
    ):
        raise FileProblem("import.unreadable") from None


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
