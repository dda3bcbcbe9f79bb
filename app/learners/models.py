"""Learners: one row per person, nationwide."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Group(StrEnum):
    citizen = "citizen"
    official = "official"
    pupil = "pupil"
    worker = "worker"


class Sex(StrEnum):
    male = "male"
    female = "female"


class OfficialLevel(StrEnum):
    commune = "commune"
    province = "province"


class Learner(SQLModel, table=True):
    __table_args__ = (
        Index("ix_learner_commune_name", "commune_code", "name_folded"),
        Index("ix_learner_province_name", "province_code", "name_folded"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Keyed HMAC of the ID number (uniqueness and lookup) and its encrypted copy.
    # Both are cleared when the person is erased.
    citizen_id_hash: str | None = Field(default=None, max_length=64, unique=True)
    citizen_id_enc: str | None = Field(default=None, max_length=200)
    citizen_id_last4: str | None = Field(default=None, max_length=4)
    full_name: str = Field(max_length=120)
    name_folded: str = Field(max_length=120)
    birth_date: date
    sex: str = Field(max_length=6)
    province_code: str = Field(foreign_key="province.code", max_length=2)
    # Found through ix_learner_commune_name; a village's learners through their commune.
    commune_code: str = Field(foreign_key="commune.code", max_length=5)
    village_id: int | None = Field(default=None, foreign_key="village.id")
    is_citizen: bool = False
    is_official: bool = False
    is_pupil: bool = False
    is_worker: bool = False
    official_level: str | None = Field(default=None, max_length=10)
    agency: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    consent_purpose: str | None = Field(default=None, max_length=300)
    consent_given_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    client_id: uuid.UUID | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    erased_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    @property
    def groups(self) -> list[Group]:
        return [g for g in Group if getattr(self, f"is_{g.value}")]
