"""Reports a commune office can file as they are: CSV and XLSX with Vietnamese headers."""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from app.stats import service
from app.stats.schemas import IndicatorValue, UnitStats

HEADERS = (
    "Đơn vị",
    "Mã đơn vị",
    "Chỉ tiêu",
    "Tử số",
    "Mẫu số",
    "Nguồn mẫu số",
    "Tỷ lệ (%)",
    "Mục tiêu",
    "Hạn mục tiêu",
    "Còn thiếu (người)",
    "Đúng tiến độ",
    "Dự báo tại hạn (%)",
)
SOURCES = {"baseline": "Số liệu thống kê", "registered": "Số người đã đăng ký"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _target_text(item: IndicatorValue) -> str:
    if item.target is None:
        return ""
    if item.target.kind == "rate":
        return f"{item.target.value * 100:g}%"
    return f"{item.target.value:,.0f} người".replace(",", ".")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Có" if value else "Không")


def report_rows(units: Iterable[UnitStats]) -> list[list[object]]:
    rows: list[list[object]] = []
    for stats in units:
        for item in stats.indicators:
            rows.append(
                [
                    stats.unit.name,
                    stats.unit.code,
                    item.title,
                    item.numerator,
                    item.denominator,
                    SOURCES[item.denominator_source],
                    _percent(item.rate),
                    _target_text(item),
                    item.target.deadline.isoformat() if item.target else "",
                    item.gap if item.gap is not None else "",
                    _yes_no(item.on_track),
                    _percent(item.projected_rate),
                ]
            )
    return rows


def title_lines(unit: UnitStats, as_of: date) -> list[str]:
    return [
        "BÁO CÁO TIẾN ĐỘ PHONG TRÀO BÌNH DÂN HỌC VỤ SỐ",
        f"Đơn vị: {unit.unit.name} ({unit.unit.code})",
        f"Số liệu tính đến ngày: {as_of.strftime('%d/%m/%Y')}",
    ]


def to_csv(unit: UnitStats, children: Sequence[UnitStats], as_of: date) -> bytes:
    """UTF-8 with BOM and `;`, which Excel in Vietnam opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    for line in title_lines(unit, as_of):
        writer.writerow([safe_cell(line)])
    writer.writerow([])
    writer.writerow(HEADERS)
    for row in report_rows([unit, *children]):
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(unit: UnitStats, children: Sequence[UnitStats], as_of: date) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "Tổng hợp"
    _fill(sheet, unit, [unit], as_of)
    if children:
        detail = workbook.create_sheet("Chi tiết")
        _fill(detail, unit, children, as_of)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill(sheet: Worksheet, unit: UnitStats, units: Sequence[UnitStats], as_of: date) -> None:
    for line in title_lines(unit, as_of):
        sheet.append([safe_cell(line)])
    sheet.append([])
    sheet.append(list(HEADERS))
    for cell in sheet[len(title_lines(unit, as_of)) + 2]:
        cell.font = Font(bold=True)
    for row in report_rows(units):
        sheet.append([safe_cell(cell) for cell in row])
    sheet["A1"].font = Font(bold=True, size=13)
    for column, width in zip(
        "ABCDEFGHIJKL", (28, 10, 44, 10, 10, 20, 10, 14, 14, 16, 12, 16), strict=True
    ):
        sheet.column_dimensions[column].width = width


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Report:
    body: bytes
    media_type: str
    filename: str


def unit_report(session: Session, *, unit: service.UnitRef, as_of: date, fmt: str) -> Report:
    """A unit's report (`csv` or `xlsx`) with each of its children, for the API and the pages.

    Reports are filed with the authorities: Vietnamese, whatever the caller's language.
    """
    stats = service.unit_stats(session, unit=unit, as_of=as_of, lang="vi")
    children = service.breakdown(session, parent=unit, as_of=as_of, lang="vi")
    filename = f"bao-cao-{unit.level}-{unit.code}-{as_of.isoformat()}.{fmt}"
    if fmt == "csv":
        return Report(to_csv(stats, children, as_of), "text/csv; charset=utf-8", filename)
    return Report(to_xlsx(stats, children, as_of), XLSX_MEDIA_TYPE, filename)
