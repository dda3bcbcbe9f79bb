"""The mock VNeID's own records, in tables of their own (`vneid_` prefix)."""

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class VneidCitizen(SQLModel, table=True):
    """A person in the mock's small citizen registry; `id` is the opaque handle apps see."""

    __tablename__ = "vneid_citizen"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Keyed HMAC of the ID number: the mock never stores the number itself.
    citizen_id_hash: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=120)
    birth_date: date
    passcode_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class VneidCertification(SQLModel, table=True):
    """A certificate VNeID received for a citizen; `id` is the receipt."""

    __tablename__ = "vneid_certification"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # One record per credential, whatever the number of deliveries.
    credential_id: str = Field(max_length=100, unique=True)
    citizen_ref: uuid.UUID = Field(foreign_key="vneid_citizen.id", index=True)
    issuer: str = Field(max_length=200)
    program_code: str = Field(max_length=32)
    title: str = Field(max_length=200)
    holder_name: str = Field(max_length=120)
    valid_from: datetime = Field(sa_column=utc_column())
    credential: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    # The issuer revoked it: the app shows it as revoked, with the issuer's reason.
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_reason: str | None = Field(default=None, max_length=500)


class VneidAuthorization(SQLModel, table=True):
    """An authorization code handed to a relying party: one use, short-lived, PKCE-bound."""

    __tablename__ = "vneid_authorization"

    # SHA-256 of the code: a leaked table row cannot be exchanged.
    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=100)
    redirect_uri: str = Field(max_length=500)
    code_challenge: str = Field(max_length=128)
    nonce: str | None = Field(default=None, max_length=200)
    citizen_ref: uuid.UUID = Field(foreign_key="vneid_citizen.id")
    # The ID number the id_token will carry, encrypted: the mock stores no number in clear.
    sealed_citizen_id: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(index=True))
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class VneidSignInThrottle(SQLModel, table=True):
    """Sign-in attempts per key (a hashed ID number or client address) in the current window."""

    __tablename__ = "vneid_sign_in_throttle"

    key: str = Field(primary_key=True, max_length=64)
    attempts: int = 0
    window_started_at: datetime = Field(sa_column=utc_column())
