"""Idempotency keys: a retried request answers what the first one answered."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from app.core.types import utc_column


class IdempotencyKey(SQLModel, table=True):
    """One caller's `Idempotency-Key`, the request it was first used for, and the answer.

    Claimed (`in_progress`) in a transaction of its own before the work starts; the answer is
    stored (`done`) in the same transaction as the work, so a key is never `done` without it.
    """

    __tablename__ = "idempotency_key"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    # SHA-256 of the method, path and canonical JSON body.
    fingerprint: str = Field(max_length=64)
    status: str = Field(max_length=12)  # in_progress, done
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    # After this the key is forgotten (and purged); the records' client_ids still keep
    # a retry from duplicating anything.
    expires_at: datetime = Field(sa_column=utc_column(index=True))
    # An `in_progress` claim older than this belongs to a request that died; it may be taken.
    locked_until: datetime = Field(sa_column=utc_column())
