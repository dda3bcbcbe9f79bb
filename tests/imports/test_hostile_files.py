"""Hostile files: whatever a file holds, reading it costs bounded work and memory, a file that
cannot be read answers 422 with a reason, and the spooled upload never stays behind."""

import io
import os
import time
import uuid
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.core.i18n import translate
from app.imports import service
from app.imports.readers import FileLimits, FileProblem, check_archive
from tests.factories import HN_HOAN_KIEM, Staff, citizen_id_for
from tests.imports.helpers import LEARNER_HEADER_EN, upload, wait_done, xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Small limits, so that small files can cross them."""
    return Settings(
        environment="test",
        database_url=database_url,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
        admin_username=None,
        admin_password=None,
        imports_dir=tmp_path / "imports",
        import_chunk_rows=7,
        import_poll_seconds=0.2,
        import_max_rows=50,
        import_max_rejected_rows=10,
        import_max_inflated_bytes=4 * 1024 * 1024,
        import_max_shared_strings_bytes=1024 * 1024,
        import_max_parts=30,
        _env_file=None,  # type: ignore[call-arg]
    )


def learner_row(serial: int) -> list[str]:
    birth = date(1985, 4, 12)
    return [
        citizen_id_for(birth, "male", serial=serial),
        "Trần Văn Hùng",
        "12/04/1985",
        "Nam",
        HN_HOAN_KIEM,
        "Người dân",
        "01/03/2026",
    ]


def inline_row(number: str, cells: list[str]) -> str:
    """A sheet row with inline strings, numbered as given (`r` is the file's to choose)."""
    inner = "".join(f'<c t="inlineStr"><is><t>{escape(v)}</t></is></c>' for v in cells)
    return f'<row r="{number}">{inner}</row>'


def sheet_xml(rows: list[str], *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>{"".join(rows)}</sheetData></worksheet>'
    ).encode()


def xlsx_with(parts: dict[str, bytes]) -> bytes:
    """A workbook openpyxl wrote, with some parts (by path) replaced or added."""
    base = xlsx_bytes(LEARNER_HEADER_EN, [learner_row(1)])
    parts = dict(parts)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, parts.pop(info.filename, source.read(info.filename)))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def header_row() -> str:
    return inline_row("1", LEARNER_HEADER_EN)


def spooled(settings: Settings) -> list[str]:
    return (
        sorted(p.name for p in settings.imports_dir.glob("*"))
        if settings.imports_dir.exists()
        else []
    )


def refused(client: TestClient, staff: Staff, settings: Settings, content: bytes) -> Any:
    """The upload's 422 problem, after checking that nothing was left in the spool."""
    response = upload(client, staff["hk_admin"], content, name="danh-sach.xlsx")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert spooled(settings) == []
    return response.json()


def failed_import(client: TestClient, staff: Staff, settings: Settings, content: bytes) -> Any:
    response = upload(client, staff["hk_admin"], content, name="danh-sach.xlsx")
    assert response.status_code == 202, response.text
    body = wait_done(client, staff["hk_admin"], response.json()["id"])
    assert body["status"] == "failed"
    assert spooled(settings) == []
    return body


def test_a_row_numbered_beyond_any_list_fails_the_import_at_once(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row(), inline_row("2", learner_row(2)), inline_row("1e15", learner_row(3))]
    body = failed_import(client, staff, settings, xlsx_with({SHEET: sheet_xml(rows)}))
    assert body["failure"] == translate("import.too_many_rows", "vi")
    # Found in the first chunk: the import failed before storing any of it.
    assert body["rows_read"] == 0 and body["rows_stored"] == 0


def test_a_header_numbered_beyond_any_list_is_refused(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [inline_row("1e15", LEARNER_HEADER_EN), inline_row("1000000000000001", ["x"])]
    problem = refused(client, staff, settings, xlsx_with({SHEET: sheet_xml(rows)}))
    assert problem["detail"] == translate("import.too_many_rows", "vi")


def test_gaps_between_row_numbers_cost_nothing(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row(), inline_row("2", learner_row(2)), inline_row("40", ["", "x"])]
    response = upload(
        client,
        staff["hk_admin"],
        xlsx_with({SHEET: sheet_xml(rows)}),
        name="danh-sach.xlsx",
    )
    assert response.status_code == 202, response.text
    body = wait_done(client, staff["hk_admin"], response.json()["id"])
    assert body["status"] == "done" and body["rows_stored"] == 1
    assert [r["row"] for r in body["rejected"]] == [40]  # numbered as the spreadsheet shows it


def test_more_rows_than_a_file_may_hold(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row()] + [inline_row(str(n), learner_row(n)) for n in range(2, 60)]
    body = failed_import(client, staff, settings, xlsx_with({SHEET: sheet_xml(rows)}))
    assert body["failure"] == translate("import.too_many_rows", "vi")
    assert body["rows_read"] <= 50


def test_an_import_stops_once_its_rejected_rows_pass_the_limit(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row()] + [inline_row(str(n), ["123", "x"]) for n in range(2, 45)]
    body = failed_import(client, staff, settings, xlsx_with({SHEET: sheet_xml(rows)}))
    response = client.get(
        f"/api/v1/imports/{body['id']}", headers={**staff["hk_admin"], "Accept-Language": "en"}
    )
    assert response.json()["failure"] == translate("import.too_many_rejected", "en")
    # It stopped at the first chunk past the limit, not at the end of the file.
    assert 10 < body["rows_rejected"] < 43


def test_a_shared_strings_bomb_is_refused_before_it_is_inflated(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    # 17 MiB of one repeated string: a few kilobytes once compressed.
    bomb = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}">'.encode()
        + b"<si><t>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</t></si>" * (17 * 1024 * 1024 // 42)
        + b"</sst>"
    )
    content = xlsx_with({STRINGS: bomb})
    assert len(content) < 200_000
    problem = refused(client, staff, settings, content)
    assert problem["detail"] == translate("import.inflated_too_large", "vi")


def test_a_part_inflating_at_a_bomb_s_ratio_is_refused(
    client: TestClient, staff: Staff, settings: Settings, tmp_path: Path
) -> None:
    padding = b"\0" * (17 * 1024 * 1024)
    problem = refused(client, staff, settings, xlsx_with({"xl/media/pad.bin": padding}))
    # The total limit would refuse it too: check the ratio alone with a generous total.
    assert problem["detail"] in (
        translate("import.inflation_ratio", "vi"),
        translate("import.inflated_too_large", "vi"),
    )
    path = tmp_path / "pad.xlsx"
    path.write_bytes(xlsx_with({"xl/media/pad.bin": padding}))
    with pytest.raises(FileProblem, match="inflation_ratio"):
        check_archive(path, FileLimits(max_inflated_bytes=1024**3))


def test_a_file_inflating_past_the_total_is_refused(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row()] + [inline_row(str(n), learner_row(n)) for n in range(2, 5)]
    padding = sheet_xml(rows)[: -len(b"</sheetData></worksheet>")]
    padding += b"<!--" + b"x" * (5 * 1024 * 1024) + b"--></sheetData></worksheet>"
    problem = refused(client, staff, settings, xlsx_with({SHEET: padding}))
    assert problem["detail"] == translate("import.inflated_too_large", "vi")


def test_a_file_of_too_many_parts_is_refused(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    parts = {f"xl/media/p{n}.bin": b"x" for n in range(40)}
    problem = refused(client, staff, settings, xlsx_with(parts))
    assert problem["detail"] == translate("import.too_many_parts", "vi")


@pytest.mark.parametrize(
    "sheet",
    [
        # cut short inside the header row
        sheet_xml([header_row()])[:150],
        # an entity declared and used (the start of a "billion laughs")
        sheet_xml(
            [inline_row("1", ["&h;", *LEARNER_HEADER_EN[1:]])],
            prolog='<!DOCTYPE worksheet [<!ENTITY h "citizen_id">]>',
        ),
    ],
    ids=["truncated", "entity"],
)
def test_malformed_xml_answers_422_with_a_reason_and_leaves_no_file(
    client: TestClient, staff: Staff, settings: Settings, sheet: bytes
) -> None:
    content = xlsx_with({SHEET: sheet})
    for _ in range(3):
        problem = refused(client, staff, settings, content)
        assert problem["status"] == 422
        assert problem["detail"] == translate("import.malformed_xml", "vi")
    response = client.post(
        "/api/v1/imports",
        data={"kind": "learners"},
        files={"file": ("danh-sach.xlsx", content)},
        headers={**staff["hk_admin"], "Accept-Language": "en"},
    )
    assert response.json()["detail"] == translate("import.malformed_xml", "en")
    assert spooled(settings) == []


def test_a_sheet_cut_short_after_its_header_fails_the_import_with_a_reason(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row()] + [inline_row(str(n), learner_row(n)) for n in range(2, 6)]
    whole = sheet_xml(rows)
    body = failed_import(client, staff, settings, xlsx_with({SHEET: whole[: len(whole) - 60]}))
    assert body["failure"] == translate("import.malformed_xml", "vi")


def test_rows_out_of_order_fail_the_import(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    rows = [header_row(), inline_row("5", learner_row(5)), inline_row("3", learner_row(3))]
    body = failed_import(client, staff, settings, xlsx_with({SHEET: sheet_xml(rows)}))
    assert body["failure"] == translate("import.unreadable", "vi")


def test_spooled_files_no_import_names_are_swept(
    client: TestClient, staff: Staff, settings: Settings, session: Session
) -> None:
    done = failed_import(
        client, staff, settings, xlsx_with({SHEET: sheet_xml([header_row(), "<row"])})
    )
    settings.imports_dir.mkdir(parents=True, exist_ok=True)
    hour_ago = time.time() - 3700
    left_by_done = settings.imports_dir / f"{done['id']}.xlsx"
    stray = settings.imports_dir / f"{uuid.uuid4()}.csv"
    being_written = settings.imports_dir / f"{uuid.uuid4()}.part"
    for path in (left_by_done, stray, being_written):
        path.write_bytes(b"a,b\r\n")
    for path in (left_by_done, stray):
        os.utime(path, (hour_ago, hour_ago))
    assert service.sweep_stray_files(session, settings) == 2
    assert spooled(settings) == [being_written.name]
