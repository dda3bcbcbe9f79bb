"""Dashboards of the nation, a province, a commune and a village.

Every figure comes from the services behind `/api/v1/stats/...` (indicators, breakdown,
monthly series, reports), after the same scope check: the page shows what the API answers.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.core.clock import vietnam_today
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.i18n import Language
from app.stats import export, service
from app.stats.indicators import Indicator
from app.stats.schemas import IndicatorValue, UnitStats
from app.stats.service import UnitRef
from app.stats.timeseries import timeseries
from app.units.models import Village
from app.web.formatting import format_date, format_number, format_percent
from app.web.i18n import page_language, register_messages, translate
from app.web.session import PageActor
from app.web.templating import register_nav, render

router = APIRouter(include_in_schema=False)

ProvinceCode = Annotated[str, Path(pattern=r"^\d{2}$")]
CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
VillageId = Annotated[int, Path(ge=1)]
AsOf = Annotated[date | None, Query()]
SortBy = Annotated[Indicator, Query()]
Order = Annotated[Literal["asc", "desc"], Query()]
ReportFormat = Literal["csv", "xlsx"]
TEMPLATE = "dashboards/unit.html"


def _today() -> date:
    return vietnam_today()


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str | None


def _visible(actor: Actor, unit: UnitRef) -> bool:
    try:
        service.require_visible(actor, unit, action="stats.read")
    except NotFound:
        return False
    return True


def _page_url(unit: UnitRef) -> str:
    if unit.level == "national":
        return "/national"
    if unit.level == "province":
        return f"/provinces/{unit.code}"
    if unit.level == "commune":
        return f"/communes/{unit.code}"
    return f"/communes/{unit.commune_code}/villages/{unit.code}"


def _breadcrumb(session: Session, actor: Actor, unit: UnitRef, lang: Language) -> list[Crumb]:
    """Nation › province › commune › village, each a link where the user may go."""
    chain = [service.national_unit()]
    if unit.level != "national":
        chain.append(service.province_unit(session, unit.province_code or ""))
    if unit.level in ("commune", "village"):
        chain.append(service.commune_unit(session, unit.commune_code or ""))
    if unit.level == "village":
        chain.append(unit)
    crumbs = []
    for link in chain:
        label = translate("dash.nation", lang) if link.level == "national" else link.name
        crumbs.append(Crumb(label, _page_url(link) if _visible(actor, link) else None))
    return crumbs


def _progress(item: IndicatorValue) -> float | None:
    """How far the unit is towards its target (1 = reached)."""
    if item.target is None:
        return None
    if item.target.kind == "rate":
        return None if item.rate is None else min(item.rate / item.target.value, 1.0)
    return min(item.numerator / item.target.value, 1.0)


def _chart(series_points: list[Any], item: IndicatorValue, lang: Language) -> dict[str, Any]:
    """What dashboard.js draws: monthly rates, the target line and the projection."""
    months = [p.date for p in series_points]
    counts = item.target is not None and item.target.kind == "count"
    values = [p.numerator if counts else p.rate for p in series_points]
    labels = [d.strftime("%m/%Y") for d in months]
    projection: list[float | None] = [None] * len(values)
    deadline = item.target.deadline if item.target else None
    if deadline is not None and months and deadline > months[-1]:
        month = months[-1]
        while (month.year, month.month) < (deadline.year, deadline.month):
            month = (month.replace(day=1) + timedelta(days=32)).replace(day=1)
            labels.append(month.strftime("%m/%Y"))
            values.append(None)
            projection.append(None)
        projected = item.projected_count if counts else item.projected_rate
        if values and projected is not None:
            projection[len(series_points) - 1] = values[len(series_points) - 1]
            projection[-1] = projected
    target = item.target.value if item.target else None
    scale = 1 if counts else 100
    return {
        "labels": labels,
        "values": [None if v is None else round(v * scale, 2) for v in values],
        "target": None if target is None else round(target * scale, 2),
        "projection": [None if v is None else round(v * scale, 2) for v in projection],
        "unit": "" if counts else "%",
        "names": {
            "rate": translate("dash.chart.counted" if counts else "dash.chart.rate", lang),
            "target": translate("dash.target", lang),
            "projection": translate("dash.projection", lang),
        },
    }


def _chart_rows(series_points: list[Any], lang: Language) -> list[tuple[str, str, str]]:
    return [
        (
            format_date(p.date, lang),
            format_number(p.numerator, lang),
            format_percent(p.rate, lang),
        )
        for p in series_points
    ]


def _children_rows(
    children: list[UnitStats], sort: Indicator, order: str, base: str
) -> list[dict[str, Any]]:
    def key(stats: UnitStats) -> tuple[bool, float]:
        value = next(i.rate for i in stats.indicators if i.indicator == sort)
        return (value is None, -(value or 0.0) if order == "desc" else (value or 0.0))

    rows = []
    for stats in sorted(children, key=key):
        primary = next(i for i in stats.indicators if i.indicator == sort)
        rows.append(
            {
                "unit": stats.unit,
                "url": base + stats.unit.code,
                "indicators": {i.indicator: i for i in stats.indicators},
                "lagging": primary.on_track is False,
            }
        )
    return rows


def _dashboard(
    request: Request,
    session: Session,
    actor: Actor,
    unit: UnitRef,
    as_of: date | None,
    sort: Indicator,
    order: str,
) -> Response:
    service.require_visible(actor, unit, action="stats.read")
    lang = page_language(request)
    day = as_of or _today()
    stats = service.unit_stats(session, unit=unit, as_of=day, lang=lang)
    children = (
        []
        if unit.level == "village"
        else service.breakdown(session, parent=unit, as_of=day, lang=lang)
    )
    start = date(day.year - 1, day.month, 1)
    series = timeseries(session, unit=unit, start=start, end=day)
    by_indicator = {s.indicator: s.points for s in series.series}
    child_base = {
        "national": "/provinces/",
        "province": "/communes/",
        "commune": f"/communes/{unit.code}/villages/",
    }.get(unit.level, "")
    context = {
        "unit": unit,
        "stats": stats,
        "as_of": day,
        "today": _today(),
        "sort": sort,
        "order": order,
        "indicators": [
            {
                "value": item,
                "progress": _progress(item),
                "chart": json.dumps(_chart(by_indicator[item.indicator], item, lang)),
                "chart_rows": _chart_rows(by_indicator[item.indicator], lang),
            }
            for item in stats.indicators
        ],
        "children": _children_rows(children, sort, order, child_base),
        "child_level": {"national": "province", "province": "commune", "commune": "village"}.get(
            unit.level
        ),
        "indicator_names": [(i.indicator, i.title) for i in stats.indicators],
        "breadcrumb": _breadcrumb(session, actor, unit, lang),
        "report_base": None if unit.level == "village" else _page_url(unit) + "/report",
        "as_of_query": "" if as_of is None else f"?as_of={day.isoformat()}",
    }
    return render(request, TEMPLATE, context)


def _village(session: Session, actor: Actor, code: str, village_id: int) -> UnitRef:
    commune = service.commune_unit(session, code)
    service.require_visible(actor, commune, action="stats.read")
    village = session.get(Village, village_id)
    if village is None or village.commune_code != commune.code:
        raise NotFound("what.village")
    return UnitRef("village", str(village.id), village.name, village.province_code, code)


@router.get("/national")
def national(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Response:
    """The nation's dashboard, with its provinces."""
    return _dashboard(request, session, actor, service.national_unit(), as_of, sort, order)


@router.get("/provinces/{code}")
def province(
    code: ProvinceCode,
    request: Request,
    session: SessionDep,
    actor: PageActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Response:
    """A province's dashboard, with its communes."""
    unit = service.province_unit(session, code)
    return _dashboard(request, session, actor, unit, as_of, sort, order)


@router.get("/communes/{code}")
def commune(
    code: CommuneCode,
    request: Request,
    session: SessionDep,
    actor: PageActor,
    as_of: AsOf = None,
    sort: SortBy = Indicator.adults_certified,
    order: Order = "desc",
) -> Response:
    """A commune's dashboard, with its villages."""
    unit = service.commune_unit(session, code)
    return _dashboard(request, session, actor, unit, as_of, sort, order)


@router.get("/communes/{code}/villages/{village_id}")
def village(
    code: CommuneCode,
    village_id: VillageId,
    request: Request,
    session: SessionDep,
    actor: PageActor,
    as_of: AsOf = None,
) -> Response:
    """A village's dashboard."""
    unit = _village(session, actor, code, village_id)
    return _dashboard(request, session, actor, unit, as_of, Indicator.adults_certified, "desc")


def _report(
    session: Session, actor: Actor, unit: UnitRef, as_of: date | None, fmt: str
) -> Response:
    service.require_visible(actor, unit, action="stats.read")
    report = export.unit_report(session, unit=unit, as_of=as_of or _today(), fmt=fmt)
    return Response(
        report.body,
        media_type=report.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{report.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/national/report.{fmt}")
def national_report(
    fmt: ReportFormat, session: SessionDep, actor: PageActor, as_of: AsOf = None
) -> Response:
    """The nation's report (the API's), with every province."""
    return _report(session, actor, service.national_unit(), as_of, fmt)


@router.get("/provinces/{code}/report.{fmt}")
def province_report(
    code: ProvinceCode, fmt: ReportFormat, session: SessionDep, actor: PageActor, as_of: AsOf = None
) -> Response:
    """A province's report (the API's), with every commune."""
    return _report(session, actor, service.province_unit(session, code), as_of, fmt)


@router.get("/communes/{code}/report.{fmt}")
def commune_report(
    code: CommuneCode, fmt: ReportFormat, session: SessionDep, actor: PageActor, as_of: AsOf = None
) -> Response:
    """A commune's report (the API's), with every village."""
    return _report(session, actor, service.commune_unit(session, code), as_of, fmt)


def _dashboard_link(actor: Actor) -> str | None:
    if actor.role is Role.team_member:
        return f"/communes/{actor.commune_code}"
    return {
        Role.national_admin: "/national",
        Role.province_admin: f"/provinces/{actor.province_code}",
        Role.commune_admin: f"/communes/{actor.commune_code}",
    }[actor.role]


register_nav("nav.dashboard", _dashboard_link, order=0)

register_messages(
    {
        "dash.nation": ("Toàn quốc", "Nationwide"),
        "dash.title": ("Tiến độ: {name}", "Progress: {name}"),
        "dash.as_of": ("Số liệu đến ngày", "Figures as of"),
        "dash.show": ("Xem", "Show"),
        "dash.downloads": ("Tải báo cáo", "Download the report"),
        "dash.download_xlsx": ("Báo cáo Excel (XLSX)", "Excel report (XLSX)"),
        "dash.download_csv": ("Báo cáo CSV", "CSV report"),
        "dash.indicators": ("Các chỉ tiêu", "Indicators"),
        "dash.rate": ("Tỷ lệ", "Rate"),
        "dash.counted": ("Đã đạt / tổng số", "Reached / total"),
        "dash.source": ("Nguồn mẫu số", "Denominator from"),
        "dash.source.baseline": ("số liệu thống kê năm {year}", "the {year} statistics"),
        "dash.source.registered": (
            "số người đã đăng ký (chưa có số liệu thống kê)",
            "the registered count (no statistics yet)",
        ),
        "dash.target": ("Mục tiêu", "Target"),
        "dash.target_by": ("{value} trước {deadline}", "{value} by {deadline}"),
        "dash.no_target": ("Chưa đặt mục tiêu", "No target set"),
        "dash.gap": ("Còn thiếu", "Still needed"),
        "dash.people": ("{count} người", "{count} people"),
        "dash.projection": ("Dự báo tại hạn", "Projected at deadline"),
        "dash.progress": ("Mức hoàn thành mục tiêu", "Progress towards the target"),
        "dash.on_track": ("Đúng tiến độ", "On track"),
        "dash.off_track": ("Chậm tiến độ", "Off track"),
        "dash.unknown": ("Chưa đánh giá", "Not assessed"),
        "dash.children.province": ("Các tỉnh, thành phố", "Provinces"),
        "dash.children.commune": ("Các xã, phường", "Communes"),
        "dash.children.village": ("Các thôn, tổ dân phố", "Villages"),
        "dash.children.hint": (
            "Bấm vào tiêu đề cột để sắp xếp. Dòng đánh dấu “Chậm tiến độ” là đơn vị chậm so với "
            "mục tiêu của chỉ tiêu “{indicator}”.",
            "Select a column heading to sort. Rows marked “Off track” lag behind the target of "
            "“{indicator}”.",
        ),
        "dash.children.name": ("Đơn vị", "Unit"),
        "dash.children.empty.village": (
            "Xã chưa có thôn, tổ dân phố nào. Hãy tạo thôn để theo dõi tiến độ từng thôn.",
            "The commune has no villages yet. Create them to follow each village's progress.",
        ),
        "dash.children.empty": ("Chưa có đơn vị trực thuộc.", "No units below this one."),
        "dash.charts": ("Tiến độ theo tháng", "Monthly progress"),
        "dash.chart.rate": ("Tỷ lệ đạt", "Rate reached"),
        "dash.chart.counted": ("Số người đạt", "People reached"),
        "dash.chart.data": ("Số liệu của biểu đồ", "The chart's figures"),
        "dash.chart.month": ("Cuối tháng", "Month end"),
        "dash.chart.numerator": ("Số người đạt", "People reached"),
        "dash.chart.label": (
            "Biểu đồ tiến độ theo tháng: {title}",
            "Monthly progress chart: {title}",
        ),
        "dash.recount": (
            "Đang tính lại số liệu sau khi sửa chuẩn chương trình {program}; các con số đang "
            "được cập nhật.",
            "The figures are being recounted after a change to program {program}'s standard.",
        ),
        "dash.lagging": ("Chậm tiến độ", "Off track"),
    }
)
