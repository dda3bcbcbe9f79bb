"""Learner self-service shapes."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.bounds import InputModel


class VneidSignIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    id_token: str = Field(max_length=10_000, description="The `id_token` VNeID answered")


class CourseDone(BaseModel):
    course_code: str
    title: str
    score: float
    passed: bool
    completed_at: datetime


class CourseRemaining(BaseModel):
    course_code: str
    title: str
    pass_score: float
    best_score: float | None = Field(description="The learner's best score so far, if any")


class ProgramProgress(BaseModel):
    program_code: str
    title: str
    for_my_groups: bool
    attained: bool
    certificate_id: uuid.UUID | None
    required: int
    done: int
    remaining: list[CourseRemaining]


class Progress(BaseModel):
    learner_id: uuid.UUID
    full_name: str
    courses_done: list[CourseDone]
    programs: list[ProgramProgress]
