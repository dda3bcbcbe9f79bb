"""Request and response shapes for courses and programs."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.bounds import InputModel
from app.learners.models import Group


class Domain(StrEnum):
    """Areas of the basic digital-skills framework (Decision 757/QĐ-BKHCN)."""

    devices_internet = "devices_internet"
    information_data = "information_data"
    communication = "communication"
    safety = "safety"
    public_services = "public_services"
    digital_payment = "digital_payment"
    basic_ai = "basic_ai"
    public_work = "public_work"


CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_.-]{1,31}$"

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN),
    Field(description="Mã in hoa / Upper-case code", examples=["KNS-ANTT"]),
]
TitleVi = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
TitleEn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
Hours = Annotated[float, Field(gt=0, le=1000, description="Số giờ học / Study hours")]
Score = Annotated[float, Field(ge=0, le=100, description="Điểm đạt, 0–100 / Pass score, 0–100")]


def _unique_groups(groups: list[Group]) -> list[Group]:
    return sorted(set(groups), key=list(Group).index)


Audience = Annotated[
    list[Group],
    AfterValidator(_unique_groups),
    Field(min_length=1, max_length=4, description="Nhóm đối tượng / Target groups"),
]


def _not_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("missing", "This field cannot be null")
    return value


class CourseCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "KNS-ANTT",
                    "title_vi": "An toàn thông tin và bảo vệ dữ liệu cá nhân",
                    "title_en": "Online safety and personal data protection",
                    "domain": "safety",
                    "hours": 3,
                    "pass_score": 70,
                    "audience": ["citizen", "official", "pupil", "worker"],
                }
            ]
        },
    )

    code: Code
    title_vi: TitleVi
    title_en: TitleEn | None = None
    domain: Domain
    hours: Hours
    pass_score: Score
    audience: Audience
    active: bool = True


class CourseUpdate(InputModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"hours": 4, "pass_score": 75}]}
    )

    title_vi: TitleVi | None = None
    title_en: TitleEn | None = None
    domain: Domain | None = None
    hours: Hours | None = None
    pass_score: Score | None = None
    audience: Audience | None = None
    active: bool | None = None

    @field_validator("title_vi", "domain", "hours", "pass_score", "audience", "active")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)


class CoursePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    title_vi: str
    title_en: str | None
    domain: str
    hours: float
    pass_score: float
    audience: list[Group]
    active: bool
    created_at: datetime
    updated_at: datetime


class RequiredCourse(InputModel):
    """A course a program requires, and the score that counts as passing it there."""

    model_config = ConfigDict(extra="forbid")

    course_code: Code
    pass_score: Score | None = Field(
        default=None, description="Bỏ trống: lấy điểm đạt của khóa học / Empty: the course's own"
    )


class ProgramCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "CHUAN-CO-BAN",
                    "title_vi": "Chuẩn kỹ năng số cơ bản cho người dân",
                    "title_en": "Basic digital-skills standard for citizens",
                    "courses": [{"course_code": "KNS-ANTT", "pass_score": 70}],
                }
            ]
        },
    )

    code: Code
    title_vi: TitleVi
    title_en: TitleEn | None = None
    default_for: Group | None = Field(
        default=None, description="Chuẩn mặc định của nhóm / The group's default standard"
    )
    active: bool = True
    courses: list[RequiredCourse] = Field(max_length=100)


class ProgramUpdate(InputModel):
    """Fields to change; `courses`, when sent, replaces the whole list."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title_en": "Basic standard"}]}
    )

    title_vi: TitleVi | None = None
    title_en: TitleEn | None = None
    default_for: Group | None = None
    active: bool | None = None
    courses: list[RequiredCourse] | None = Field(default=None, max_length=100)

    @field_validator("title_vi", "active", "courses")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)


class RequiredCoursePublic(BaseModel):
    course_code: str
    pass_score: float


class ProgramPublic(BaseModel):
    code: str
    title_vi: str
    title_en: str | None
    default_for: Group | None
    active: bool
    courses: list[RequiredCoursePublic]
    created_at: datetime
    updated_at: datetime
