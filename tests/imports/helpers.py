"""Building import files and waiting for imports to finish, through the API."""

import csv
import io
import time
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook

IMPORTS = "/api/v1/imports"

LEARNER_HEADER_VI = [
    "Số định danh cá nhân",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã xã",
    "Nhóm",
    "Ngày đồng ý",
]
LEARNER_HEADER_EN = [
    "citizen_id",
    "full_name",
    "birth_date",
    "sex",
    "commune_code",
    "groups",
    "consent_given_at",
]


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[Any]], *, delimiter: str = ",", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(
    client: TestClient,
    headers: dict[str, str],
    content: bytes,
    *,
    kind: str = "learners",
    name: str = "danh-sach.csv",
    **form: str,
) -> Any:
    return client.post(
        IMPORTS, data={"kind": kind, **form}, files={"file": (name, content)}, headers=headers
    )


def wait_done(client: TestClient, headers: dict[str, str], import_id: str) -> dict[str, Any]:
    """Poll the import until the worker has finished it."""
    for _ in range(600):
        response = client.get(f"{IMPORTS}/{import_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish")


def imported(
    client: TestClient, headers: dict[str, str], content: bytes, **kwargs: Any
) -> dict[str, Any]:
    response = upload(client, headers, content, **kwargs)
    assert response.status_code == 202, response.text
    return wait_done(client, headers, response.json()["id"])
