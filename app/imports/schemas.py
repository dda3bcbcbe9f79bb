"""Answers about imports."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.imports.models import CommuneScheme, ImportKind, ImportStatus

REJECTED_SHOWN = 100


class RejectedRow(BaseModel):
    row: int = Field(description="Số dòng trong tệp (dòng tiêu đề là 1) / Row number")
    cells: dict[str, Any] = Field(
        description="Các ô của dòng; số định danh được che / The row's cells, ID number masked"
    )
    reason: str = Field(description="Lý do / Why it was not stored")
    problem: dict[str, Any]


class ImportPublic(BaseModel):
    id: uuid.UUID
    kind: ImportKind
    status: ImportStatus = Field(
        description="queued: chờ; running: đang nhập; done: xong; failed: dừng (xem failure)"
    )
    file_name: str
    file_format: str
    file_bytes: int
    rows_read: int = Field(description="Số dòng đã đọc / Rows read")
    rows_stored: int = Field(description="Đã lưu (mới hoặc cập nhật) / Stored")
    rows_duplicate: int = Field(description="Đã có từ trước / Already stored")
    rows_rejected: int = Field(description="Bị từ chối / Rejected")
    ignored_columns: list[str] = Field(description="Cột không dùng đến / Columns not used")
    failure: str | None = None
    default_commune_code: str | None
    commune_scheme: CommuneScheme = Field(
        description="Mã xã trong tệp: official (2025) hay legacy (cũ) / the file's commune codes"
    )
    created_by_id: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejected: list[RejectedRow] = Field(
        description=f"Các dòng bị từ chối (tối đa {REJECTED_SHOWN}) / First rejected rows"
    )
    rejected_csv: str = Field(description="Tải các dòng bị từ chối (CSV) / Download as CSV")
    rejected_xlsx: str = Field(description="Tải các dòng bị từ chối (XLSX) / Download as XLSX")
