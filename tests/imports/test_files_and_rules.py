import io
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, func, select

from app.accounts.service import actor_for
from app.core.context import WriteContext, bind_context
from app.core.spreadsheets import csv_chunks, neutralize, restore, write_xlsx
from app.imports import columns, learners
from app.imports.context import ImportContext, SourceRow
from app.imports.models import ImportKind
from app.imports.readers import FileProblem, detect_format, open_sheet
from app.learners.models import Learner
from tests.factories import HN_HOAN_KIEM, Staff, citizen_id_for, learner_payload


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+84912345678", "'+84912345678"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralized(value: object, shown: object) -> None:
    assert neutralize(value) == shown
    if isinstance(value, str):
        assert restore(neutralize(value)) == value
    assert restore("'quoted") == "'quoted"


def test_writers_neutralize_every_cell(tmp_path: Path) -> None:
    rows = [["=cmd|' /C calc'!A0", 3, date(2026, 1, 2), datetime(2026, 1, 2, 9, tzinfo=UTC), None]]
    text = "".join(csv_chunks(["@head", "n", "d", "t", "x"], rows * 600))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "'@head,n,d,t,x" and len(lines) == 601
    assert lines[1].startswith("'=cmd") and "2026-01-02" in lines[1]
    target = tmp_path / "out.xlsx"
    with target.open("wb") as stream:
        write_xlsx(stream, [("data", ["@head", "n", "d", "t", "x"], rows)])
    sheet = load_workbook(target).worksheets[0]
    assert sheet["A1"].value == "'@head" and sheet["A2"].value == "'=cmd|' /C calc'!A0"
    assert sheet["A2"].data_type == "s" and sheet["B2"].value == 3
    assert sheet["C2"].value == datetime(2026, 1, 2)  # a real date cell


def test_csv_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes('\ufeffMã xã;Năm\r\n00070;2026\r\n;\r\n\'=x;"a;b"\r\n'.encode())
    assert detect_format(path) == "csv"
    with open_sheet(path, "csv") as sheet:
        assert sheet.header == ["Mã xã", "Năm"]
        assert list(sheet.rows) == [(2, ["00070", "2026"]), (4, ["=x", "a;b"])]
    path.write_bytes(b"a,b\r\n1,2\r\n")
    with open_sheet(path, "csv") as sheet:
        assert sheet.header == ["a", "b"] and list(sheet.rows) == [(2, ["1", "2"])]
    path.write_bytes(b"a,b\r\n" + b"x" * 70_000 + b",1\r\n")  # no cell of ours is this long
    with pytest.raises(FileProblem), open_sheet(path, "csv") as sheet:
        list(sheet.rows)


def test_xlsx_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    with path.open("wb") as stream:
        write_xlsx(stream, [("s", ["A", "B", "C"], [[True, 1.5, date(2026, 3, 1)], [None, None]])])
    assert detect_format(path) == "xlsx"
    with open_sheet(path, "xlsx") as sheet:
        assert sheet.header == ["A", "B", "C"]
        assert list(sheet.rows) == [(2, ["true", 1.5, datetime(2026, 3, 1)])]
    empty = tmp_path / "empty.xlsx"
    with empty.open("wb") as stream:
        write_xlsx(stream, [("s", [], [])])
    with pytest.raises(FileProblem, match=r"import\.empty"), open_sheet(empty, "xlsx"):
        pass


def test_cell_readers() -> None:
    assert columns.day("05/04/1985") == date(1985, 4, 5)
    assert columns.day("5.4.1985") == date(1985, 4, 5)
    assert columns.day("31/02/1985") == "31/02/1985"  # left for the schema to refuse
    assert columns.day("1985-04-05") == "1985-04-05"
    assert columns.day(datetime(1985, 4, 5, 8)) == date(1985, 4, 5)
    assert columns.day(None) is None
    assert columns.citizen_id(1085012345) == "001085012345"
    assert columns.citizen_id(1085012345.0) == "001085012345"
    assert columns.citizen_id(" 001 085 012 345 ") == "001085012345"
    assert columns.number("8,5") == "8.5" and columns.number(7) == 7
    assert columns.whole_number("12.000") == "12000" and columns.whole_number("12 000") == "12000"
    assert columns.whole_number(None) is None and columns.whole_number(3.0) == 3.0
    assert columns.phone(912345678) == "0912345678" and columns.phone(84912345678) == "84912345678"
    assert columns.phone("091 234-5678") == "0912345678"
    assert columns.groups("Cán bộ, công chức; Học sinh") == ["official", "official", "pupil"]
    assert columns.groups("robot") == ["robot"] and columns.groups(None) is None
    assert columns.choice("Cấp xã", columns.LEVELS) == "commune"
    assert columns.text(3.0) == "3" and columns.text(date(2026, 1, 1)) == "2026-01-01"
    header = ["năm", "MA XA", "", "x", "người trưởng thành", "CBCCVC", "hoc sinh", "workers"]
    layout = columns.layout_for(ImportKind.baselines, header)
    assert layout.positions["commune_code"] == 1 and layout.ignored == ["x"]
    with pytest.raises(FileProblem) as missing:
        columns.layout_for(ImportKind.completions, ["Mã khóa học"])
    assert "Mã người học" in missing.value.params["columns"]


@pytest.mark.parametrize("look_up_misses", [False, True])
def test_a_person_registered_meanwhile_is_not_stored_twice(
    client: TestClient,
    staff: Staff,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    look_up_misses: bool,
) -> None:
    """The chunk was checked before someone registered one of its people through the API
    (and, the second time, registered them between the chunk's look-up and its insert)."""
    if look_up_misses:
        real = learners._registered
        calls: list[int] = []

        def late(writer: Session, digests: list[str]) -> dict[str, tuple[str, str]]:
            calls.append(len(digests))
            return {} if len(calls) == 1 else real(writer, digests)

        monkeypatch.setattr(learners, "_registered", late)
    personal_ids = client.app.state.personal_ids  # type: ignore[attr-defined]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    ctx = ImportContext(
        import_id=uuid.uuid4(),
        actor=actor_for(staff.users["hk_admin"]),
        personal_ids=personal_ids,
        default_commune_code=HN_HOAN_KIEM,
        today=date.today(),
        engine=engine,
        context=WriteContext(adult_age=18),
    )
    rows = [
        SourceRow(
            n + 1,
            {
                "citizen_id": citizen_id_for(date(1985, 4, 12), "male", serial=n),
                "full_name": "Hồ Văn Nam",
                "birth_date": "12/04/1985",
                "sex": "Nam",
                "consent_given_at": "01/03/2026",
            },
            [],
        )
        for n in range(1, 5)
    ]
    prepared = learners.prepare_chunk(ctx, rows)
    response = client.post(
        "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, 2), headers=staff["hk_member"]
    )
    assert response.status_code == 201
    with engine.connect() as connection, Session(bind=connection) as writer:
        bind_context(writer, WriteContext(18))
        outcome = learners.store_prepared(writer, ctx, prepared)
        writer.commit()
        connection.commit()
    assert (outcome.stored, outcome.duplicate, outcome.rejected) == (3, 1, [])
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Learner)).one() == 4


def test_bytes_that_are_not_a_file_we_know(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(FileProblem, match=r"import\.unreadable"), open_sheet(path, "xlsx"):
        pass
    stream = io.BytesIO()
    assert stream.read() == b""
