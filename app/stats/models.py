"""Baselines (denominators) and targets: the planning figures indicators are read against."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Baseline(SQLModel, table=True):
    """Denominators for one commune and year, from the statistics office."""

    commune_code: str = Field(foreign_key="commune.code", primary_key=True, max_length=5)
    year: int = Field(primary_key=True)
    province_code: str = Field(foreign_key="province.code", max_length=2, index=True)
    adults: int
    officials: int
    pupils: int
    workers: int
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class Target(SQLModel, table=True):
    """Indicator × scope × value × deadline; the most specific scope applies."""

    __table_args__ = (UniqueConstraint("indicator", "level", "scope_code"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=40)
    level: str = Field(max_length=10)  # national, province, commune
    scope_code: str = Field(max_length=5)  # "VN" for the nation
    kind: str = Field(max_length=5)  # rate or count
    value: float
    deadline: date
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
