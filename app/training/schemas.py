"""Request and response shapes for completions, classes and attendance."""

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.catalog.schemas import Code
from app.core.bounds import Day, InputModel, within_days
from app.core.clock import VIETNAM, vietnam_today
from app.training.models import Method

# Dates and times given without a zone are taken as Vietnam's.
# A date alone stands for midday in Vietnam: the same calendar day in Vietnam and in UTC.
MIDDAY = time(12, 0, tzinfo=VIETNAM)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def moment_of_day(day: date, now: datetime | None = None) -> datetime:
    """The instant that stands for a day: midday in Vietnam, or now if that is still to come."""
    now = now or datetime.now(UTC)
    moment = datetime.combine(day, MIDDAY).astimezone(UTC)
    return min(moment, now) if day <= vietnam_today(now) else moment


def _date_only(value: object) -> object:
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        try:
            return moment_of_day(date.fromisoformat(value.strip()))
        except ValueError:
            return value  # left for the datetime parser to reject
    if isinstance(value, date) and not isinstance(value, datetime):
        return moment_of_day(value)
    return value


def _aware(value: datetime) -> datetime:
    # Kept in UTC from the start, so the answer to a write shows it as every read does.
    aware = value.replace(tzinfo=VIETNAM) if value.tzinfo is None else value
    return aware.astimezone(UTC)


CompletedAt = Annotated[
    datetime,
    BeforeValidator(_date_only),
    AfterValidator(within_days),
    AfterValidator(_aware),
    Field(
        description=(
            "ISO 8601. Không có múi giờ: giờ Việt Nam; chỉ có ngày: 12:00 ngày đó / "
            "Without a zone: Vietnam time; a date alone: midday that day"
        ),
        examples=["2026-03-14T09:30:00+07:00", "2026-03-14"],
    ),
]
Score = Annotated[float, Field(ge=0, le=100, description="Điểm 0–100 / Score 0–100")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class CompletionCorrection(InputModel):
    """A result entered wrongly, set right: its score, its completion time, or both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"score": 65, "reason": "Nhập nhầm điểm 95 thay vì 65"}],
        },
    )

    score: Score | None = None
    completed_at: CompletedAt | None = None
    reason: Reason


class CompletionWithdrawal(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Ghi kết quả cho nhầm người học"}]},
    )

    reason: Reason


class CompletionCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "learner_id": "3f1c8a52-4b1e-4c1a-9d55-2f7f3c1e9a10",
                    "course_code": "CB-ANTOAN",
                    "completed_at": "2026-03-14T09:30:00+07:00",
                    "score": 85,
                    "method": "home_visit",
                    "client_id": "9b2d7c1e-5a3f-4e8b-b1c2-7d6e5f4a3b21",
                }
            ]
        },
    )

    learner_id: uuid.UUID
    course_code: Code
    completed_at: CompletedAt
    score: Score
    method: Method
    class_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = Field(
        default=None, description="Mã do điện thoại tạo, để gửi lại an toàn / The phone's own id"
    )


class CompletionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    learner_id: uuid.UUID
    course_code: str
    completed_at: datetime
    score: float
    passed: bool
    method: Method
    class_id: uuid.UUID | None
    client_id: uuid.UUID | None
    recorded_by_id: int | None
    created_at: datetime
    updated_at: datetime


class ClassCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "course_code": "CB-VNEID",
                    "commune_code": "00070",
                    "held_on": "2026-03-14",
                    "note": "Lớp tại nhà văn hóa tổ dân phố số 1",
                }
            ]
        },
    )

    course_code: Code
    commune_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = Field(
        default=None, description="Mặc định: xã/phường của bạn / Default: your own commune"
    )
    village_id: int | None = None
    held_on: Day
    team_id: int | None = Field(
        default=None, description="Mặc định: tổ của bạn / Default: your own team"
    )
    note: Note | None = None


class ClassPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_code: str
    province_code: str
    commune_code: str
    village_id: int | None
    held_on: date
    team_id: int | None
    note: str | None
    created_by_id: int | None
    created_at: datetime


class AttendanceRecord(InputModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: uuid.UUID
    score: Score


MAX_ATTENDANCE = 500


class AttendanceCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {"learner_id": "3f1c8a52-4b1e-4c1a-9d55-2f7f3c1e9a10", "score": 80},
                        {"learner_id": "5a0e2d1b-7c3f-4a9e-8b6d-1e2f3a4b5c6d", "score": 55},
                    ]
                }
            ]
        },
    )

    records: list[AttendanceRecord] = Field(min_length=1, max_length=MAX_ATTENDANCE)


AttendanceStatus = Literal["created", "updated", "unchanged", "rejected"]


class AttendanceResult(BaseModel):
    learner_id: uuid.UUID
    status: AttendanceStatus
    completion: CompletionPublic | None = None
    problem: dict[str, Any] | None = Field(
        default=None, description="problem+json của bản ghi bị từ chối / Why it was rejected"
    )


class AttendanceResponse(BaseModel):
    results: list[AttendanceResult]
