"""Certificates: issued when a learner attains a program, delivered to VNeID, revocable."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class CertificateStatus(StrEnum):
    valid = "valid"
    revoked = "revoked"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    # VNeID refused it for good (e.g. it does not know the person), or the person was erased.
    rejected = "rejected"
    # Revoked after it may have reached VNeID: VNeID is still to be told.
    withdrawing = "withdrawing"
    # Revoked, and VNeID shows it as revoked (or never held it).
    withdrawn = "withdrawn"


class Certificate(SQLModel, table=True):
    __table_args__ = (
        # One valid certificate per learner and program, whatever the order or repetition of
        # completions; after a revocation, meeting the standard again issues a new one.
        Index(
            "uq_certificate_valid_learner_program",
            "learner_id",
            "program_code",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
        Index("ix_certificate_delivery_due", "vneid_status", "next_delivery_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    learner_id: uuid.UUID = Field(foreign_key="learner.id", index=True)
    province_code: str = Field(foreign_key="province.code", max_length=2)
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    program_code: str = Field(foreign_key="program.code", max_length=32)
    # When it was recorded; `attained_at` is when the person met the standard (the latest
    # completion of its required results), which dates it in every indicator.
    issued_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    attained_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    # The name as written on the credential when it was issued.
    holder_name: str = Field(max_length=120)
    status: str = Field(default=CertificateStatus.valid.value, max_length=10)
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_by_id: int | None = Field(default=None, foreign_key="user.id")
    # The last time a revocation made by mistake was undone.
    reinstated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The signed credential (compact JWS) and the id of the key that signed it.
    credential: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kid: str | None = Field(default=None, max_length=64)
    # Delivery to VNeID: the row itself is the durable outbox.
    vneid_status: str = Field(default=DeliveryStatus.pending.value, max_length=12)
    vneid_receipt_id: str | None = Field(default=None, max_length=100)
    vneid_delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    delivery_attempts: int = 0
    next_delivery_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_delivery_error: str | None = Field(default=None, max_length=300)


class CredentialIssuer(SQLModel, table=True):
    """Every address the service has issued credentials as, kept so they verify for ever.

    A credential names its issuer (`iss`, the public address when it was signed); a new domain
    adds a row here instead of making every earlier credential fail.
    """

    __tablename__ = "credential_issuer"

    url: str = Field(primary_key=True, max_length=300)
    first_used_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
