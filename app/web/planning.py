"""Planning pages: a commune's baselines (denominators) by year, and the targets of a province
or of the nation — written through the API's own services and rules."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.core.clock import vietnam_today
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.stats import planning
from app.stats.indicators import Indicator
from app.stats.models import Baseline, Target
from app.stats.schemas import BaselineIn, TargetIn
from app.units.models import Commune, Province
from app.web.forms import domain_errors, validation_errors
from app.web.i18n import page_language, register_messages, translate
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import blank_to_none, commune_in_scope, crumbs, province_in_scope

router = APIRouter()

CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
ProvinceCode = Annotated[str, Path(pattern=r"^\d{2}$")]
BASELINE_FIELDS = ("adults", "officials", "pupils", "workers")

MESSAGES = {
    "baselines.title": ("Số liệu mẫu số", "Baselines"),
    "baselines.intro": (
        "Số liệu của cơ quan thống kê, dùng làm mẫu số khi tính tỉ lệ. Khi chưa có, hệ thống"
        " dùng số người đã đăng ký.",
        "Figures from the statistics office, used as denominators. Without them, the"
        " registered count is used.",
    ),
    "baselines.year": ("Năm", "Year"),
    "baselines.show": ("Xem", "Show"),
    "baselines.adults": ("Người trưởng thành", "Adults"),
    "baselines.officials": ("Cán bộ, công chức, viên chức", "Officials"),
    "baselines.pupils": ("Học sinh, sinh viên", "Pupils and students"),
    "baselines.workers": ("Người lao động doanh nghiệp, HTX", "Enterprise workers"),
    "baselines.none": (
        "Chưa có số liệu năm {year}. Nhập số liệu bằng biểu mẫu bên dưới.",
        "No figures for {year} yet. Enter them with the form below.",
    ),
    "baselines.saved": ("Đã lưu số liệu năm {year}.", "The figures for {year} were saved."),
    "baselines.years": ("Các năm đã có số liệu", "Years with figures"),
    "baselines.save": ("Lưu số liệu", "Save the figures"),
    "baselines.updated_at": ("Cập nhật lúc", "Updated"),
    "baselines.commune": ("Xã, phường", "Commune"),
    "baselines.missing": (
        "{missing} xã, phường chưa có số liệu năm {year}: mở từng xã để nhập, hoặc nhập cả"
        " tỉnh từ một tệp (loại Số liệu mẫu số) ở trang Nhập tệp.",
        "{missing} communes have no figures for {year}: open each to enter them, or import"
        " the whole province from one file (kind Baselines) on the Imports page.",
    ),
    "baselines.complete": (
        "Mọi xã, phường đã có số liệu năm {year}.",
        "Every commune has figures for {year}.",
    ),
    "baselines.warning": (
        "{field}: {baseline} nhỏ hơn số người đã đăng ký ({registered}). Hãy kiểm tra lại.",
        "{field}: {baseline} is below the {registered} people already registered. Check it.",
    ),
    "targets.title": ("Mục tiêu", "Targets"),
    "targets.intro": (
        "Mục tiêu của đơn vị cụ thể nhất được áp dụng: xã, rồi tỉnh, rồi toàn quốc.",
        "The most specific unit's target applies: commune, then province, then the nation.",
    ),
    "targets.scope": ("Phạm vi", "Scope"),
    "targets.indicator": ("Chỉ tiêu", "Indicator"),
    "targets.kind": ("Loại", "Kind"),
    "targets.kind.rate": ("Tỉ lệ (0,8 = 80 %)", "Rate (0.8 = 80%)"),
    "targets.kind.count": ("Số người", "Head count"),
    "targets.value": ("Giá trị", "Value"),
    "targets.value_hint": (
        "Tỉ lệ ghi dạng phân số: 0,8 là 80 %. Số người ghi số nguyên.",
        "A rate as a fraction: 0.8 is 80%. A head count as a whole number.",
    ),
    "targets.deadline": ("Hạn", "Deadline"),
    "targets.set": ("Đặt mục tiêu", "Set a target"),
    "targets.saved": ("Đã lưu mục tiêu.", "The target was saved."),
    "targets.none": (
        "Chưa có mục tiêu nào. Đặt mục tiêu bằng biểu mẫu bên dưới.",
        "No target yet. Set one with the form below.",
    ),
    "targets.level.national": ("Toàn quốc", "Nation"),
    "targets.level.province": ("Tỉnh", "Province"),
    "targets.level.commune": ("Xã", "Commune"),
    "indicator.name.adults_certified": (
        "Người trưởng thành đạt chuẩn kỹ năng số",
        "Adults meeting the digital-skills standard",
    ),
    "indicator.name.adults_vneid_confirmed": (
        "Người trưởng thành được xác nhận trên VNeID",
        "Adults confirmed on VNeID",
    ),
    "indicator.name.officials_trained": ("Cán bộ được tập huấn", "Officials trained"),
    "indicator.name.officials_trained_commune": (
        "Cán bộ cấp xã được tập huấn",
        "Commune officials trained",
    ),
    "indicator.name.officials_trained_province": (
        "Cán bộ cấp tỉnh được tập huấn",
        "Province officials trained",
    ),
    "indicator.name.pupils_equipped": (
        "Học sinh, sinh viên được trang bị kiến thức số",
        "Pupils equipped",
    ),
    "indicator.name.workers_trained": ("Người lao động được tập huấn", "Workers trained"),
}
register_messages(MESSAGES)


# ---- baselines ------------------------------------------------------------------------------


def _baselines_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    year: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    warnings: list[dict[str, Any]] | None = None,
    saved: bool = False,
) -> Response:
    lang = page_language(request)
    rows = session.exec(
        select(Baseline)
        .where(Baseline.commune_code == commune.code)
        .order_by(col(Baseline.year).desc())
    ).all()
    row = next((r for r in rows if r.year == year), None)
    if values is None:
        values = {f: getattr(row, f) for f in BASELINE_FIELDS} if row else {}
    shown_warnings = [
        translate(
            "baselines.warning",
            lang,
            field=translate(f"baselines.{w['field']}", lang),
            baseline=w["baseline"],
            registered=w["registered"],
        )
        for w in warnings or []
    ]
    return render(
        request,
        "planning/baselines.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "year": year,
            "row": row,
            "years": [r.year for r in rows],
            "fields": BASELINE_FIELDS,
            "values": values,
            "errors": errors or {},
            "warnings": shown_warnings,
            "saved": saved,
            "can_edit": actor.role is not Role.team_member,
        },
        status_code=422 if errors else 200,
    )


@router.get("/communes/{code}/baselines", response_class=HTMLResponse)
def baselines_page(
    request: Request,
    code: CommuneCode,
    session: SessionDep,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=planning.FIRST_YEAR, le=planning.LAST_YEAR)] = None,
) -> Response:
    """A commune's denominators for a year, and the form to enter them."""
    commune = commune_in_scope(session, actor, code)
    return _baselines_page(request, session, actor, commune, year or vietnam_today().year)


@router.post("/communes/{code}/baselines", response_class=HTMLResponse)
async def put_baseline(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """Save a commune's denominators for a year, by the API's rules."""
    form = await request.form()
    values = blank_to_none(form, *BASELINE_FIELDS)
    year_text = str(form.get("year") or "")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        year = int(year_text) if year_text.isdigit() else vietnam_today().year
        try:
            data = BaselineIn.model_validate(values)
            saved = planning.put_baseline(
                session, actor=actor, commune_code=commune.code, year=year, data=data
            )
        except ValidationError as exc:
            errors = validation_errors(exc, lang)
        except Invalid as exc:
            session.rollback()
            errors = domain_errors(exc, lang)
        else:
            return _baselines_page(
                request, session, actor, commune, year, warnings=saved.warnings, saved=True
            )
        return _baselines_page(request, session, actor, commune, year, errors=errors, values=values)

    return await run_in_threadpool(work)


@router.get("/provinces/{code}/baselines", response_class=HTMLResponse)
def province_baselines_page(
    request: Request,
    code: ProvinceCode,
    session: SessionDep,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=planning.FIRST_YEAR, le=planning.LAST_YEAR)] = None,
) -> Response:
    """Each commune of a province with its denominators for a year, or what is missing."""
    province = province_in_scope(session, actor, code)
    year = year or vietnam_today().year
    communes = session.exec(
        select(Commune).where(Commune.province_code == province.code).order_by(col(Commune.code))
    ).all()
    rows = {
        row.commune_code: row
        for row in session.exec(
            select(Baseline).where(Baseline.province_code == province.code, Baseline.year == year)
        ).all()
    }
    return render(
        request,
        "planning/province_baselines.html",
        {
            "province": province,
            "crumbs": crumbs(request, session, actor, province=province),
            "year": year,
            "fields": BASELINE_FIELDS,
            "communes": [(c, rows.get(c.code)) for c in communes],
            "missing": sum(1 for c in communes if c.code not in rows),
        },
    )


# ---- targets --------------------------------------------------------------------------------


def _targets_scope(session: Session, actor: Actor, code: str | None) -> tuple[str, Province | None]:
    """The level and province of a targets page, checked against the user's scope."""
    if code is not None:
        return "province", province_in_scope(session, actor, code)
    if actor.role is not Role.national_admin:
        raise NotFound("what.resource", audit_action="page.read", audit_target="national")
    return "national", None


def _targets_page(
    request: Request,
    session: Session,
    actor: Actor,
    province: Province | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: bool = False,
) -> Response:
    lang = page_language(request)
    visible: list[Target] = []
    cursor: str | None = None
    while True:
        page, cursor = planning.list_targets(
            session, actor=actor, level=None, code=None, cursor=cursor, limit=500
        )
        visible.extend(page)
        if cursor is None:
            break
    if province is not None:
        communes = {
            c
            for c in session.exec(
                select(Commune.code).where(Commune.province_code == province.code)
            )
        }
        shown = [
            t
            for t in visible
            if t.level == "national"
            or (t.level == "province" and t.scope_code == province.code)
            or (t.level == "commune" and t.scope_code in communes)
        ]
    else:
        shown = [t for t in visible if t.level in ("national", "province")]
    return render(
        request,
        "planning/targets.html",
        {
            "province": province,
            "path": f"/provinces/{province.code}/targets" if province else "/national/targets",
            "crumbs": crumbs(request, session, actor, province=province),
            "targets": shown,
            "indicator_options": [
                (i.value, translate(f"indicator.name.{i.value}", lang)) for i in Indicator
            ],
            "kind_options": [(k, translate(f"targets.kind.{k}", lang)) for k in ("rate", "count")],
            "values": values or {"kind": "rate", "deadline": f"{vietnam_today().year}-12-31"},
            "errors": errors or {},
            "saved": saved,
        },
        status_code=422 if errors else 200,
    )


def _targets_get(request: Request, session: Session, actor: Actor, code: str | None) -> Response:
    _, province = _targets_scope(session, actor, code)
    return _targets_page(request, session, actor, province)


@router.get("/provinces/{code}/targets", response_class=HTMLResponse)
def province_targets(
    request: Request, code: ProvinceCode, session: SessionDep, actor: PageActor
) -> Response:
    """The targets that apply in a province (its own, its communes' and the nation's)."""
    return _targets_get(request, session, actor, code)


@router.get("/national/targets", response_class=HTMLResponse)
def national_targets(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """The national targets and those of every province."""
    return _targets_get(request, session, actor, None)


async def _targets_put(
    request: Request, session: Session, actor: Actor, code: str | None
) -> Response:
    form = await request.form()
    values = blank_to_none(form, "indicator", "kind", "value", "deadline")
    lang = page_language(request)

    def work() -> Response:
        level, province = _targets_scope(session, actor, code)
        body: dict[str, Any] = dict(values)
        if isinstance(body.get("value"), str):
            # Written the Vietnamese way, "0,8" is the fraction 0.8.
            body["value"] = body["value"].replace(" ", "").replace(",", ".")
        body["scope"] = {"level": level, "code": province.code if province else None}
        try:
            data = TargetIn.model_validate(body)
            planning.put_target(session, actor=actor, data=data)
        except ValidationError as exc:
            errors = validation_errors(exc, lang)
        except Invalid as exc:
            session.rollback()
            errors = domain_errors(exc, lang)
        else:
            return _targets_page(request, session, actor, province, saved=True)
        return _targets_page(request, session, actor, province, errors=errors, values=values)

    return await run_in_threadpool(work)


@router.post("/provinces/{code}/targets", response_class=HTMLResponse)
async def put_province_target(
    request: Request, code: ProvinceCode, session: SessionDep, actor: PageActor
) -> Response:
    """Set one of the province's targets, by the API's rules."""
    return await _targets_put(request, session, actor, code)


@router.post("/national/targets", response_class=HTMLResponse)
async def put_national_target(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """Set one of the national targets, by the API's rules."""
    return await _targets_put(request, session, actor, None)
