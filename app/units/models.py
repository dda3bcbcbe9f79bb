"""Administrative units: provinces, communes (since 1 July 2025, no districts) and villages."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Province(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=2)
    name: str = Field(max_length=100)
    division_type: str = Field(max_length=40)
    codename: str = Field(max_length=100)
    name_folded: str = Field(max_length=100, index=True)


class Commune(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=5)
    province_code: str = Field(foreign_key="province.code", max_length=2, index=True)
    name: str = Field(max_length=100)
    division_type: str = Field(max_length=40)
    codename: str = Field(max_length=100)
    name_folded: str = Field(max_length=100, index=True)


class Village(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("commune_code", "name_folded"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(foreign_key="province.code", max_length=2, index=True)
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    name: str = Field(max_length=120)
    name_folded: str = Field(max_length=120)
    kind: str = Field(default="thon", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class ReferenceData(SQLModel, table=True):
    """Which version of an official list (the units) the database was loaded from."""

    __tablename__ = "reference_data"

    name: str = Field(primary_key=True, max_length=40)
    version: str = Field(max_length=20)
    data_date: str = Field(max_length=10)
    loaded_at: datetime = Field(sa_column=utc_column())
