"""Lists made on the old map (before 1 July 2025): old commune codes in an import."""

import csv
import io
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.learners.models import Learner
from tests.factories import HN_HOAN_KIEM, Staff, citizen_id_for
from tests.imports.helpers import IMPORTS, csv_bytes, imported, upload, xlsx_bytes

ADULT = date(1985, 4, 12)
OLD_HEADER = [
    "Số định danh cá nhân",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã xã (cũ)",
    "Huyện (cũ)",
    "Tên xã (cũ)",
    "Thôn/Tổ dân phố",
    "Ngày đồng ý",
]
HANG_BONG_CHOICES = "00070 Phường Hoàn Kiếm; 00082 Phường Cửa Nam"


def old_row(
    serial: int, old_code: str, district: str = "", name: str = "", village: str = ""
) -> list[str]:
    return [
        citizen_id_for(ADULT, "male", serial=serial),
        "Lê Văn Bình",
        "12/04/1985",
        "Nam",
        old_code,
        district,
        name,
        village,
        "01/03/2026",
    ]


def stored(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.exec(
        select(Learner.citizen_id_last4, Learner.commune_code).order_by(
            col(Learner.citizen_id_last4)
        )
    ).all()
    return [(last4, commune) for last4, commune in rows]


def table_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_old_codes_are_stored_whole_and_split_ones_come_back_with_candidates(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_admin"]
    village = client.post(
        f"/api/v1/communes/{HN_HOAN_KIEM}/villages",
        json={"name": "Tổ dân phố Hàng Bông 3"},
        headers=headers,
    )
    assert village.status_code == 201, village.text
    rows = [
        old_row(1, "00043", "Quận Hoàn Kiếm", "Phường Hàng Mã"),  # whole → Hoàn Kiếm
        old_row(2, "76"),  # Hàng Bông, split: Hoàn Kiếm or Cửa Nam
        old_row(3, "00043", "Quận Ba Đình"),  # the district says it is not Hàng Mã
        old_row(4, "00088"),  # Hàng Bài → Cửa Nam: not this commune's
        old_row(5, "00076", village="to dan pho hang bong 3"),  # its village places it
        old_row(6, "00043", "Hoàn Kiếm", "Hàng Mã"),  # names given without their kind
    ]
    body = imported(client, headers, csv_bytes(OLD_HEADER, rows))
    assert (body["rows_stored"], body["rows_rejected"]) == (3, 3), body["rejected"]
    assert body["commune_scheme"] == "official"
    assert stored(session) == [
        ("0001", HN_HOAN_KIEM),
        ("0005", HN_HOAN_KIEM),
        ("0006", HN_HOAN_KIEM),
    ]
    reasons = {r["row"]: r for r in body["rejected"]}
    assert reasons[3]["reason"].startswith("Mã xã (cũ): ")
    assert "00070 Phường Hoàn Kiếm, 00082 Phường Cửa Nam" in reasons[3]["reason"]
    assert [c["code"] for c in reasons[3]["problem"]["candidates"]] == ["00070", "00082"]
    assert "Phường Hàng Mã, Quận Hoàn Kiếm" in reasons[4]["reason"]
    assert reasons[5]["problem"]["status"] == 404

    download = client.get(body["rejected_csv"], headers=headers)
    table = table_of(download.content)
    assert table[0] == [*OLD_HEADER, "Dòng", "Lý do", "Xã/phường mới có thể chọn"]
    assert [(line[9], line[11]) for line in table[1:]] == [
        ("3", HANG_BONG_CHOICES),
        ("4", ""),
        ("5", ""),
    ]
    english = client.get(body["rejected_csv"], headers={**headers, "Accept-Language": "en"})
    assert table_of(english.content)[0][-1] == "Candidate new communes"
    workbook = load_workbook(io.BytesIO(client.get(body["rejected_xlsx"], headers=headers).content))
    sheet = workbook.worksheets[0]
    assert sheet.cell(1, 12).value == "Xã/phường mới có thể chọn"
    assert sheet.cell(2, 12).value == HANG_BONG_CHOICES

    # The commune picks Hoàn Kiếm for the split row, in a new column, and sends it again.
    corrected = [[*line[:9], "00070"] for line in table[1:2]]
    again = imported(client, headers, csv_bytes([*OLD_HEADER, "Mã xã"], corrected))
    assert (again["rows_stored"], again["rows_rejected"]) == (1, 0)
    assert ("0002", HN_HOAN_KIEM) in stored(session)


def test_the_upload_option_reads_the_commune_column_as_old_codes(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_admin"]
    header = ["Số định danh cá nhân", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Ngày đồng ý"]

    def line(serial: int, code: Any) -> list[Any]:
        person = citizen_id_for(ADULT, "male", serial=serial)
        return [person, "Lê Văn Bình", "12/04/1985", "Nam", code, "01/03/2026"]

    # Old 00070 was Phường Hàng Trống (split); read as a new code it is Phường Hoàn Kiếm.
    content = xlsx_bytes(header, [line(1, "00043"), line(2, "00070"), line(3, 43)])
    body = imported(client, headers, content, name="ds.xlsx", commune_scheme="legacy")
    assert body["commune_scheme"] == "legacy"
    assert (body["rows_stored"], body["rows_rejected"]) == (2, 1)
    assert stored(session) == [("0001", HN_HOAN_KIEM), ("0003", HN_HOAN_KIEM)]
    refused = body["rejected"][0]
    assert refused["row"] == 3 and refused["reason"].startswith("Mã xã: ")
    assert "Phường Hàng Trống" in refused["reason"]
    assert [c["code"] for c in refused["problem"]["candidates"]] == ["00070", "00082"]
    table = table_of(client.get(body["rejected_csv"], headers=headers).content)
    assert table[1][-1] == "00070 Phường Hoàn Kiếm; 00082 Phường Cửa Nam"

    # Without the option the same file files everyone under the new codes' communes.
    plain = imported(client, headers, xlsx_bytes(header, [line(4, "00070")]), name="ds.xlsx")
    assert plain["rows_stored"] == 1 and ("0004", HN_HOAN_KIEM) in stored(session)


def test_the_option_is_for_learners_and_known_values_only(client: TestClient, staff: Staff) -> None:
    headers = staff["hk_admin"]
    baselines = csv_bytes(["Năm", "Người trưởng thành"], [["2026", "100"]])
    refused = upload(client, headers, baselines, kind="baselines", commune_scheme="legacy")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "commune_scheme"
    content = csv_bytes(OLD_HEADER, [old_row(1, "00043")])
    assert upload(client, headers, content, commune_scheme="old").status_code == 422


def test_templates_show_the_old_map_columns(client: TestClient, staff: Staff) -> None:
    template = client.get(f"{IMPORTS}/templates/learners.csv", headers=staff["hk_member"])
    header = table_of(template.content)[0]
    assert {"Mã xã (cũ)", "Huyện (cũ)", "Tên xã (cũ)"} <= set(header)
