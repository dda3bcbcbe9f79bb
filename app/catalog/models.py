"""The catalogue: courses and programs (the digital-skills standards)."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Course(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    title_vi: str = Field(max_length=200)
    title_en: str | None = Field(default=None, max_length=200)
    domain: str = Field(max_length=40, index=True)
    hours: float
    pass_score: float
    audience: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Program(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    title_vi: str = Field(max_length=200)
    title_en: str | None = Field(default=None, max_length=200)
    # The target group this program is the default standard for, if any.
    default_for: str | None = Field(default=None, max_length=10, unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ProgramCourse(SQLModel, table=True):
    __tablename__ = "program_course"

    program_code: str = Field(foreign_key="program.code", primary_key=True, max_length=32)
    course_code: str = Field(foreign_key="course.code", primary_key=True, max_length=32)
    pass_score: float
