"""Indicators, breakdowns, progress over time and reports; baselines and targets."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.accounts.actor import Actor
from app.accounts.deps import Caller, CurrentActor
from app.core.bounds import Day
from app.core.clock import vietnam_today
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.problems import language_of
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.stats import export, planning, service, unit_stats
from app.stats.indicators import Indicator
from app.stats.schemas import (
    BaselineIn,
    BaselinePublic,
    Breakdown,
    ProvinceBaselinesIn,
    RankedUnitStats,
    RecountState,
    TargetIn,
    TargetPublic,
    Timeseries,
    UnitStats,
)
from app.stats.service import UnitRef
from app.stats.timeseries import timeseries as build_timeseries

router = APIRouter()

ProvinceCode = Annotated[str, Path(pattern=r"^\d{2}$", examples=["01"])]
CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$", examples=["00070"])]
Year = Annotated[int, Path(ge=2000, le=2100, examples=[2026])]
AsOf = Annotated[
    Day | None,
    Query(description="Ngày tính số liệu / Reporting date (ISO 8601); today by default"),
]
SortBy = Annotated[Indicator, Query(description="Chỉ tiêu để xếp hạng / Indicator to rank by")]
Order = Annotated[Literal["asc", "desc"], Query()]


def _today() -> date:
    return vietnam_today()


def _unit(session: SessionDep, actor: Actor, level: str, code: str | None) -> UnitRef:
    if level == "national":
        unit = service.national_unit()
    elif level == "province":
        unit = service.province_unit(session, code or "")
    else:
        unit = service.commune_unit(session, code or "")
    service.require_visible(actor, unit, action="stats.read")
    return unit


async def _stats(
    request: Request, caller: int, level: str, code: str | None, as_of: date | None
) -> Response:
    body = await unit_stats.answer(request, caller, level, code, as_of)
    return Response(body, media_type="application/json")


@router.get("/stats/national", response_model=UnitStats, tags=["stats"])
async def national_stats(request: Request, caller: Caller, as_of: AsOf = None) -> Response:
    """Chỉ tiêu toàn quốc / Indicators for the nation (national admins)."""
    return await _stats(request, caller, "national", None, as_of)


@router.get("/stats/provinces/{code}", response_model=UnitStats, tags=["stats"])
async def province_stats(
    code: ProvinceCode, request: Request, caller: Caller, as_of: AsOf = None
) -> Response:
    """Chỉ tiêu của tỉnh / Indicators for a province: rate, target, gap, on track, projection."""
    return await _stats(request, caller, "province", code, as_of)


@router.get("/stats/communes/{code}", response_model=UnitStats, tags=["stats"])
async def commune_stats(
    code: CommuneCode, request: Request, caller: Caller, as_of: AsOf = None
) -> Response:
    """Chỉ tiêu của xã/phường / Indicators for a commune: rate, target, gap, projection."""
    return await _stats(request, caller, "commune", code, as_of)


@router.get("/stats/recount", response_model=RecountState, tags=["stats"])
def recount_state(session: SessionDep, actor: CurrentActor) -> RecountState:
    """Việc tính lại sau khi sửa chuẩn chương trình / The recount after a change to a program's
    standard: until it finishes, the figures move from the old standard to the new one."""
    return service.recount_state(session)


def _breakdown(
    request: Request,
    session: SessionDep,
    actor: Actor,
    level: str,
    code: str | None,
    as_of: date | None,
    sort: Indicator,
    order: str,
) -> Breakdown:
    parent = _unit(session, actor, level, code)
    day = as_of or _today()
    children = service.breakdown(session, parent=parent, as_of=day, lang=language_of(request))

    def key(stats: UnitStats) -> tuple[bool, float]:
        value = next(i.rate for i in stats.indicators if i.indicator == sort)
        return (value is None, -(value or 0.0) if order == "desc" else (value or 0.0))

    ranked = sorted(children, key=key)
    return Breakdown(
        parent=parent.public(),
        as_of=day,
        sort=sort,
        items=[
            RankedUnitStats(**stats.model_dump(), rank=position)
            for position, stats in enumerate(ranked, start=1)
        ],
    )


@router.get("/stats/national/provinces", response_model=Breakdown, tags=["stats"])
def national_breakdown(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Breakdown:
    """Xếp hạng các tỉnh / Provinces ranked by an indicator."""
    return _breakdown(request, session, actor, "national", None, as_of, sort, order)


@router.get("/stats/provinces/{code}/communes", response_model=Breakdown, tags=["stats"])
def province_breakdown(
    code: ProvinceCode,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Breakdown:
    """Xếp hạng các xã/phường của tỉnh / A province's communes ranked by an indicator."""
    return _breakdown(request, session, actor, "province", code, as_of, sort, order)


@router.get("/stats/communes/{code}/villages", response_model=Breakdown, tags=["stats"])
def commune_breakdown(
    code: CommuneCode,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Breakdown:
    """Các thôn/tổ dân phố của xã / A commune's villages ranked by an indicator."""
    return _breakdown(request, session, actor, "commune", code, as_of, sort, order)


def _timeseries(
    session: SessionDep,
    actor: Actor,
    level: str,
    code: str | None,
    start: date | None,
    end: date | None,
) -> Timeseries:
    unit = _unit(session, actor, level, code)
    end = end or _today()
    start = start or date(end.year - 1, end.month, 1)
    if start > end:
        start = end
    return build_timeseries(session, unit=unit, start=start, end=end)


TimeFrom = Annotated[Day | None, Query(alias="from", description="First month (ISO date)")]
TimeTo = Annotated[Day | None, Query(alias="to", description="Last day (ISO date)")]


@router.get("/stats/national/timeseries", response_model=Timeseries, tags=["stats"])
def national_timeseries(
    session: SessionDep, actor: CurrentActor, start: TimeFrom = None, end: TimeTo = None
) -> Timeseries:
    """Tiến độ theo tháng, cộng dồn / Monthly cumulative progress for the nation."""
    return _timeseries(session, actor, "national", None, start, end)


@router.get("/stats/provinces/{code}/timeseries", response_model=Timeseries, tags=["stats"])
def province_timeseries(
    code: ProvinceCode,
    session: SessionDep,
    actor: CurrentActor,
    start: TimeFrom = None,
    end: TimeTo = None,
) -> Timeseries:
    """Tiến độ theo tháng của tỉnh / Monthly cumulative progress for a province."""
    return _timeseries(session, actor, "province", code, start, end)


@router.get("/stats/communes/{code}/timeseries", response_model=Timeseries, tags=["stats"])
def commune_timeseries(
    code: CommuneCode,
    session: SessionDep,
    actor: CurrentActor,
    start: TimeFrom = None,
    end: TimeTo = None,
) -> Timeseries:
    """Tiến độ theo tháng của xã / Monthly cumulative progress for a commune."""
    return _timeseries(session, actor, "commune", code, start, end)


def _report(
    request: Request,
    session: SessionDep,
    actor: Actor,
    level: str,
    code: str | None,
    as_of: date | None,
    fmt: str,
) -> Response:
    unit = _unit(session, actor, level, code)
    report = export.unit_report(session, unit=unit, as_of=as_of or _today(), fmt=fmt)
    return Response(
        report.body,
        media_type=report.media_type,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


REPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Báo cáo / Report file",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/stats/national/export.{fmt}", tags=["stats"], responses=REPORT)
def national_report(
    fmt: Literal["csv", "xlsx"],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
) -> Response:
    """Báo cáo toàn quốc (CSV/XLSX) / National report, with every province."""
    return _report(request, session, actor, "national", None, as_of, fmt)


@router.get("/stats/provinces/{code}/export.{fmt}", tags=["stats"], responses=REPORT)
def province_report(
    code: ProvinceCode,
    fmt: Literal["csv", "xlsx"],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
) -> Response:
    """Báo cáo của tỉnh (CSV/XLSX) / Province report, with every commune."""
    return _report(request, session, actor, "province", code, as_of, fmt)


@router.get("/stats/communes/{code}/export.{fmt}", tags=["stats"], responses=REPORT)
def commune_report(
    code: CommuneCode,
    fmt: Literal["csv", "xlsx"],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    as_of: AsOf = None,
) -> Response:
    """Báo cáo của xã (CSV/XLSX) / Commune report, with every village."""
    return _report(request, session, actor, "commune", code, as_of, fmt)


@router.put("/communes/{code}/baselines/{year}", response_model=BaselinePublic, tags=["baselines"])
def put_commune_baseline(
    code: CommuneCode, year: Year, data: BaselineIn, session: SessionDep, actor: CurrentActor
) -> BaselinePublic:
    """Số liệu mẫu số của xã theo năm / A commune's denominators for a year."""
    return planning.put_baseline(session, actor=actor, commune_code=code, year=year, data=data)


@router.put(
    "/provinces/{code}/baselines/{year}", response_model=list[BaselinePublic], tags=["baselines"]
)
def put_province_baselines(
    code: ProvinceCode,
    year: Year,
    data: ProvinceBaselinesIn,
    session: SessionDep,
    actor: CurrentActor,
) -> list[BaselinePublic]:
    """Nhập mẫu số cho nhiều xã của tỉnh / Denominators for many communes of a province."""
    return planning.put_province_baselines(
        session, actor=actor, province_code=code, year=year, communes=data.communes
    )


@router.get("/targets", response_model=Page[TargetPublic], tags=["targets"])
def list_targets(
    session: SessionDep,
    actor: CurrentActor,
    level: Annotated[Literal["national", "province", "commune"] | None, Query()] = None,
    code: Annotated[str | None, Query(pattern=r"^(\d{2}|\d{5})$")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[TargetPublic]:
    """Các mục tiêu / Targets: national ones and those of units in your scope."""
    targets, next_cursor = planning.list_targets(
        session, actor=actor, level=level, code=code, cursor=cursor, limit=limit
    )
    return Page(items=[service.target_public(t) for t in targets], next_cursor=next_cursor)


@router.put("/targets", response_model=TargetPublic, tags=["targets"])
def put_target(data: TargetIn, session: SessionDep, actor: CurrentActor) -> TargetPublic:
    """Đặt mục tiêu / Set a target for a scope you manage (the most specific scope applies)."""
    return service.target_public(planning.put_target(session, actor=actor, data=data))
