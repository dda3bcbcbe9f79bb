"""Completions of courses and the classes teams hold."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Method(StrEnum):
    class_ = "class"
    home_visit = "home_visit"
    online = "online"


class TrainingClass(SQLModel, table=True):
    __tablename__ = "training_class"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    province_code: str = Field(foreign_key="province.code", max_length=2)
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    village_id: int | None = Field(default=None, foreign_key="village.id")
    course_code: str = Field(foreign_key="course.code", max_length=32)
    held_on: date
    team_id: int | None = Field(default=None, foreign_key="team.id")
    note: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Completion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("learner_id", "course_code"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    learner_id: uuid.UUID = Field(foreign_key="learner.id")
    province_code: str = Field(foreign_key="province.code", max_length=2)
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    course_code: str = Field(foreign_key="course.code", max_length=32, index=True)
    completed_at: datetime = Field(sa_column=utc_column())
    score: float
    passed: bool
    method: str = Field(max_length=12)
    class_id: uuid.UUID | None = Field(default=None, foreign_key="training_class.id")
    client_id: uuid.UUID | None = Field(default=None, unique=True)
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
