"""An upload that is neither CSV nor XLSX says so, and leaves nothing behind."""

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.core.config import Settings
from app.imports.models import ImportJob
from tests.factories import Staff
from tests.imports.helpers import upload


def _zip_without_a_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("danh-sach.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"),
        ("danh-sach.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
        ("danh-sach.docx", _zip_without_a_workbook()),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ],
)
def test_a_file_that_is_not_csv_or_xlsx_is_refused_by_name(
    client: TestClient,
    staff: Staff,
    session: Session,
    settings: Settings,
    name: str,
    content: bytes,
) -> None:
    refused = upload(client, staff["hk_member"], content, name=name)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"].startswith("Tệp không phải CSV hay XLSX.")
    english = upload(client, staff["hk_member"] | {"Accept-Language": "en"}, content, name=name)
    assert english.json()["detail"].startswith("The file is neither CSV nor XLSX.")
    assert session.exec(select(func.count()).select_from(ImportJob)).one() == 0
    spooled = Path(settings.imports_dir)
    assert not spooled.exists() or list(spooled.iterdir()) == []
