"""The columns of each kind of import: Vietnamese and English headers, and reading cells.

Headers match without regard to case, diacritics or punctuation ("NGAY SINH", "Ngày sinh"
and "birth_date" are the same column). Cells are turned into what the API takes (e.g. "Nữ"
→ "female", "12/04/1985" → 1985-04-12); a value that cannot be turned is passed on as it is,
so the API's own validation rejects it with the API's own message.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from app.core.text import fold
from app.imports.models import ImportKind
from app.imports.readers import Cell, FileProblem


@dataclass(frozen=True)
class Column:
    field: str
    vi: str
    en: str
    required: bool = False
    example: str = ""
    aliases: tuple[str, ...] = ()


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.learners: (
        Column(
            "citizen_id",
            "Số định danh cá nhân",
            "citizen_id",
            True,
            "001085012345",
            ("CCCD", "Số CCCD", "Căn cước công dân", "Số định danh"),
        ),
        Column("full_name", "Họ và tên", "full_name", True, "Nguyễn Văn An", ("Họ tên",)),
        Column("birth_date", "Ngày sinh", "birth_date", True, "12/04/1985"),
        Column("sex", "Giới tính", "sex", True, "Nam / Nữ"),
        Column(
            "commune_code", "Mã xã", "commune_code", False, "00070", ("Mã xã/phường", "Mã phường")
        ),
        Column("village", "Thôn/Tổ dân phố", "village", False, "Tổ dân phố số 1", ("Thôn",)),
        # A list made on the old map (before 1 July 2025): the old code, and to confirm it,
        # the old district's and commune's names.
        Column(
            "legacy_commune_code",
            "Mã xã (cũ)",
            "legacy_commune_code",
            False,
            "00043",
            ("Mã xã cũ", "Mã phường (cũ)"),
        ),
        Column("legacy_district", "Huyện (cũ)", "legacy_district", False, "Quận Hoàn Kiếm"),
        Column(
            "legacy_commune_name", "Tên xã (cũ)", "legacy_commune_name", False, "Phường Hàng Mã"
        ),
        Column(
            "groups",
            "Nhóm",
            "groups",
            False,
            "Người dân; Cán bộ; Học sinh; Người lao động",
            ("Nhóm đối tượng",),
        ),
        Column("official_level", "Cấp cán bộ", "official_level", False, "Xã / Tỉnh"),
        Column("agency", "Cơ quan", "agency", False, "UBND xã"),
        Column("phone", "Số điện thoại", "phone", False, "0912345678", ("Điện thoại",)),
        Column("consent_given_at", "Ngày đồng ý", "consent_given_at", True, "01/03/2026"),
        Column(
            "consent_purpose",
            "Mục đích đồng ý",
            "consent_purpose",
            False,
            "Theo dõi kết quả học kỹ năng số",
        ),
    ),
    ImportKind.completions: (
        Column(
            "citizen_id",
            "Số định danh cá nhân",
            "citizen_id",
            False,
            "001085012345",
            ("CCCD", "Số CCCD", "Căn cước công dân", "Số định danh"),
        ),
        Column("learner_id", "Mã người học", "learner_id", False, ""),
        Column("course_code", "Mã khóa học", "course_code", True, "CB-VNEID"),
        Column("completed_at", "Ngày hoàn thành", "completed_at", True, "14/03/2026"),
        Column("score", "Điểm", "score", True, "85"),
        Column("method", "Hình thức", "method", True, "Lớp học / Tại nhà / Trực tuyến"),
        Column("class_id", "Mã lớp", "class_id", False, ""),
    ),
    ImportKind.baselines: (
        Column(
            "commune_code", "Mã xã", "commune_code", False, "00070", ("Mã xã/phường", "Mã phường")
        ),
        Column("year", "Năm", "year", True, "2026"),
        Column("adults", "Người trưởng thành", "adults", True, "12000", ("Số người trưởng thành",)),
        Column(
            "officials",
            "Cán bộ, công chức, viên chức",
            "officials",
            True,
            "150",
            ("Cán bộ công chức", "CBCCVC"),
        ),
        Column("pupils", "Học sinh, sinh viên", "pupils", True, "3000", ("Học sinh",)),
        Column("workers", "Người lao động", "workers", True, "5000"),
    ),
}
# Learner rows name a person by ID number or by learner id (completions).
ONE_OF: dict[ImportKind, tuple[str, ...]] = {ImportKind.completions: ("citizen_id", "learner_id")}


def header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


@dataclass(frozen=True)
class Layout:
    """Where each known field sits in a file's rows."""

    positions: dict[str, int]
    headers: dict[str, str]  # field → the file's own header text
    ignored: list[str]

    def fields_of(self, cells: Sequence[Cell]) -> dict[str, Cell]:
        return {f: cells[i] if i < len(cells) else None for f, i in self.positions.items()}


def layout_for(kind: ImportKind, header: Sequence[str]) -> Layout:
    """Match a file's header row to the kind's columns; refuse missing or repeated ones."""
    known: dict[str, str] = {}
    for column in COLUMNS[kind]:
        for name in (column.vi, column.en, *column.aliases):
            known[header_key(name)] = column.field
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored = []
    for index, text in enumerate(header):
        matched = known.get(header_key(text))
        if matched is None:
            if text:
                ignored.append(text)
            continue
        if matched in positions:
            raise FileProblem("import.duplicate_column", column=text)
        positions[matched] = index
        headers[matched] = text
    missing = [c.vi for c in COLUMNS[kind] if c.required and c.field not in positions]
    alternatives = ONE_OF.get(kind)
    if alternatives and not any(f in positions for f in alternatives):
        names = {c.field: c.vi for c in COLUMNS[kind]}
        missing.append(" / ".join(names[f] for f in alternatives))
    if missing:
        raise FileProblem("import.missing_columns", columns=", ".join(missing))
    return Layout(positions=positions, headers=headers, ignored=ignored)


# Reading cells ------------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def text(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip() or None


def day(value: Cell) -> Any:
    """A date from a date cell, "dd/mm/yyyy" or ISO "yyyy-mm-dd"; else the text as it is."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    return None if raw is None else _day_of_text(raw)


@lru_cache(maxsize=65536)
def _day_of_text(raw: str) -> date | str:
    # A file repeats its dates (a consent day, birth dates): each is parsed once.
    match = _DMY.match(raw)
    if match:
        d, m, y = (int(g) for g in match.groups())
        try:
            return date(y, m, d)
        except ValueError:
            return raw
    return raw


def moment(value: Cell) -> Any:
    """A date-time, or a date (read by the API as that day), from a cell."""
    if isinstance(value, datetime):
        return value
    parsed = day(value)
    return parsed


def citizen_id(value: Cell) -> str | None:
    # A spreadsheet that took the number for a number dropped its leading zeros (every
    # province code starts with 0); a number cell is padded back to 12 digits.
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value)).zfill(12)
    raw = text(value)
    return None if raw is None else raw.replace(" ", "").replace(".", "")


def number(value: Cell) -> Any:
    if isinstance(value, int | float):
        return value
    raw = text(value)
    if raw is None:
        return None
    candidate = raw.replace(" ", "")
    if re.fullmatch(r"-?\d+,\d+", candidate):
        candidate = candidate.replace(",", ".")  # Vietnamese decimal comma: 8,5
    return candidate


def whole_number(value: Cell) -> Any:
    if isinstance(value, int | float):
        return value
    raw = text(value)
    if raw is None:
        return None
    # Thousands separators: 12.000 or 12,000 or 12 000.
    candidate = raw.replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", candidate):
        candidate = re.sub(r"[.,]", "", candidate)
    return candidate


def phone(value: Cell) -> str | None:
    if isinstance(value, int):
        digits = str(value)
        return digits if digits.startswith("84") else "0" + digits
    raw = text(value)
    return None if raw is None else re.sub(r"[\s.\-()]", "", raw)


def choice(value: Cell, choices: dict[str, str]) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    return choices.get(_vocabulary_key(raw), raw)


@lru_cache(maxsize=4096)
def _vocabulary_key(raw: str) -> str:
    # A column of a file holds few distinct words ("Nam", "Nữ"): fold each once.
    return header_key(raw)


SEXES = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "nu": "female",
    "female": "female",
    "f": "female",
}
LEVELS = {
    "xa": "commune",
    "cap xa": "commune",
    "commune": "commune",
    "tinh": "province",
    "cap tinh": "province",
    "province": "province",
}
METHODS = {
    "lop": "class",
    "lop hoc": "class",
    "class": "class",
    "tai nha": "home_visit",
    "den nha": "home_visit",
    "tan nha": "home_visit",
    "home visit": "home_visit",
    "truc tuyen": "online",
    "online": "online",
}
GROUPS = {
    "citizen": "citizen",
    "nguoi dan": "citizen",
    "dan": "citizen",
    "official": "official",
    "can bo": "official",
    "cong chuc": "official",
    "vien chuc": "official",
    "cbccvc": "official",
    "can bo cong chuc vien chuc": "official",
    "pupil": "pupil",
    "hoc sinh": "pupil",
    "sinh vien": "pupil",
    "hoc sinh sinh vien": "pupil",
    "worker": "worker",
    "nguoi lao dong": "worker",
    "cong nhan": "worker",
    "lao dong": "worker",
}


def groups(value: Cell) -> list[str] | None:
    raw = text(value)
    return None if raw is None else list(_groups(raw))


@lru_cache(maxsize=1024)
def _groups(raw: str) -> tuple[str, ...]:
    tokens = [t for t in re.split(r"[;,|\n]", raw) if t.strip()]
    return tuple(GROUPS.get(header_key(t), t.strip()) for t in tokens)
