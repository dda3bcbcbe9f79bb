"""The append-only audit trail."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_commune_at", "commune_code", "at"),)

    id: int | None = Field(
        default=None,
        # SQLite only auto-increments a plain INTEGER primary key.
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    actor_id: str | None = Field(default=None, max_length=64, index=True)
    actor_role: str | None = Field(default=None, max_length=20)
    action: str = Field(max_length=60, index=True)
    target_type: str | None = Field(default=None, max_length=30)
    target_id: str | None = Field(default=None, max_length=64)
    province_code: str | None = Field(default=None, max_length=2)
    commune_code: str | None = Field(default=None, max_length=5)
    request_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=10)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
