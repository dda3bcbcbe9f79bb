"""Imports of learners, completions and baselines from CSV or XLSX files."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class ImportKind(StrEnum):
    learners = "learners"
    completions = "completions"
    baselines = "baselines"


class CommuneScheme(StrEnum):
    official = "official"  # the official 2025 codes
    legacy = "legacy"  # the codes before 1 July 2025


class ImportStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(SQLModel, table=True):
    """One uploaded file and how far its rows have been stored.

    The counters move only in the transaction that stores their rows, so what they report
    is committed; `rows_read` is also where a resumed import picks up.
    """

    __tablename__ = "import_job"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=12)
    status: str = Field(default=ImportStatus.queued.value, max_length=8, index=True)
    file_name: str = Field(max_length=200)
    file_format: str = Field(max_length=4)  # csv, xlsx
    file_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    file_sha256: str = Field(max_length=64)
    # The file's own header row, in its order (for the rejected-rows download).
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # Which map the file's `commune_code` column is on: `official` (2025) or `legacy` (old).
    commune_scheme: str = Field(
        default="official", max_length=8, sa_column_kwargs={"server_default": "official"}
    )
    # Rows with no commune of their own go to this one.
    default_commune_code: str | None = Field(default=None, foreign_key="commune.code", max_length=5)
    # Whose import it is: the uploader and the scope it was made in.
    created_by_id: int = Field(foreign_key="user.id", index=True)
    province_code: str | None = Field(default=None, max_length=2)
    commune_code: str | None = Field(default=None, max_length=5)
    # Every row up to this one (as a spreadsheet numbers them) is stored or rejected.
    last_row: int = 0
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    # Why the whole import stopped (a message key), when it failed.
    failure: str | None = Field(default=None, max_length=60)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    started_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ImportRowError(SQLModel, table=True):
    """A row that was not stored, with its values and the reason.

    The personal ID number is not kept among the values: it is stored encrypted apart, and
    handed back only in the rejected-rows file to callers who may see the import.
    """

    __tablename__ = "import_row_error"
    __table_args__ = (UniqueConstraint("import_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: uuid.UUID = Field(foreign_key="import_job.id")
    row_number: int
    cells: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    citizen_id_enc: str | None = Field(default=None, max_length=200)
    citizen_id_last4: str | None = Field(default=None, max_length=4)
    problem: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
