"""Shapes of baselines, targets and indicator answers."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.bounds import MAX_INT, Day, InputModel
from app.stats.indicators import Indicator

Count = Annotated[int, Field(ge=0, le=50_000_000)]


class BaselineIn(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"adults": 8200, "officials": 65, "pupils": 2100, "workers": 1300}]
        },
    )

    adults: Count
    officials: Count
    pupils: Count
    workers: Count


class BaselinePublic(BaselineIn):
    commune_code: str
    province_code: str
    year: int
    updated_at: datetime
    warnings: list[dict[str, object]] = Field(
        default_factory=list,
        description="Figures accepted but worth a look, e.g. fewer adults than registered",
    )


class ProvinceBaselinesIn(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "communes": {
                        "00070": {"adults": 8200, "officials": 65, "pupils": 2100, "workers": 1300}
                    }
                }
            ]
        },
    )

    communes: dict[Annotated[str, StringConstraints(pattern=r"^\d{5}$")], BaselineIn] = Field(
        min_length=1, max_length=500
    )


class Scope(InputModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["national", "province", "commune"]
    code: Annotated[str, StringConstraints(pattern=r"^(\d{2}|\d{5})$")] | None = None


class TargetIn(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "indicator": "adults_certified",
                    "scope": {"level": "province", "code": "08"},
                    "kind": "rate",
                    "value": 0.8,
                    "deadline": "2026-12-31",
                },
                {
                    "indicator": "adults_vneid_confirmed",
                    "scope": {"level": "province", "code": "01"},
                    "kind": "count",
                    "value": 1100000,
                    "deadline": "2026-12-31",
                },
            ]
        },
    )

    indicator: Indicator
    scope: Scope
    kind: Literal["rate", "count"]
    value: float = Field(
        gt=0, le=MAX_INT, description="A rate as a fraction (0.8 = 80 %), or a head count"
    )
    deadline: Day


class TargetPublic(BaseModel):
    indicator: Indicator
    scope: Scope
    kind: Literal["rate", "count"]
    value: float
    deadline: date
    updated_at: datetime


class Unit(BaseModel):
    level: Literal["national", "province", "commune", "village"]
    code: str
    name: str


class IndicatorValue(BaseModel):
    indicator: Indicator
    title: str
    numerator: int
    denominator: int
    denominator_source: Literal["baseline", "registered"]
    rate: float | None
    target: TargetPublic | None
    gap: int | None = Field(
        description="How many more people are needed to reach the target (for a rate, 0 with "
        "no one to count)"
    )
    on_track: bool | None = Field(
        description="Whether the projection reaches the target; null without a target, or for a "
        "rate with no one to count"
    )
    projected_rate: float | None = Field(
        description="The rate expected at the target's deadline at the pace of the last 90 days"
    )
    projected_count: int | None = None


class RecountUnderWay(BaseModel):
    """A change to a program's standard whose recount has not finished: until it does, the
    figures move from the old standard to the new one."""

    program_code: str
    started_at: datetime


class UnitStats(BaseModel):
    unit: Unit
    as_of: date
    indicators: list[IndicatorValue]
    recount: RecountUnderWay | None = Field(
        default=None,
        description=(
            "Đang tính lại sau khi sửa chuẩn chương trình / A recount under way after a change "
            "to a program's standard (see GET /api/v1/stats/recount); null when none is"
        ),
    )


class RankedUnitStats(UnitStats):
    rank: int


class Breakdown(BaseModel):
    parent: Unit
    as_of: date
    sort: Indicator
    items: list[RankedUnitStats]


class SeriesPoint(BaseModel):
    date: date
    numerator: int
    denominator: int
    denominator_source: Literal["baseline", "registered"]
    rate: float | None


class Series(BaseModel):
    indicator: Indicator
    points: list[SeriesPoint]


class Timeseries(BaseModel):
    unit: Unit
    series: list[Series]


class RecountPublic(BaseModel):
    """A recount after a change to a program's standard, and how far it got."""

    id: int
    program_code: str
    finished: bool
    recounted_learners: int = Field(description="Người đã được tính lại / People recounted so far")
    started_at: datetime
    finished_at: datetime | None


class RecountState(BaseModel):
    """Whether the indicators are still being recounted after a change to a standard."""

    pending: bool
    latest: RecountPublic | None
