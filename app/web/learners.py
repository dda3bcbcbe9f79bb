"""Learner pages: search and list a commune's learners, open one's record, register and edit
a learner, record a result — through the API's own services, rules and messages."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.actor import Actor
from app.catalog import service as catalog
from app.certificates import service as certificates
from app.certificates.deps import SignerDep
from app.core.clock import vietnam_today
from app.core.db import SessionDep, WritesOnRead
from app.core.deps import PersonalIdsDep
from app.core.errors import Conflict, Invalid, NotFound
from app.learners import service as learners
from app.learners.models import Group, Learner
from app.learners.schemas import LearnerCreate, LearnerUpdate
from app.training import service as training
from app.training.schemas import CompletionCreate
from app.units import service as units
from app.units.models import Commune
from app.vneid.deps import IdentityCheckDep
from app.web.forms import domain_errors, validation_errors
from app.web.i18n import page_language, register_messages
from app.web.i18n import translate as page_translate
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import blank_to_none, commune_in_scope, crumbs

router = APIRouter()

CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
LearnerId = Annotated[uuid.UUID, Path()]
PAGE_SIZE = 50
CONSENT_PURPOSE = "Theo dõi kết quả học kỹ năng số"

MESSAGES = {
    "learners.title": ("Người học", "Learners"),
    "learners.search": ("Tìm theo tên (không dấu cũng được)", "Search by name (accents optional)"),
    "learners.search_button": ("Tìm", "Search"),
    "learners.all_villages": ("Tất cả thôn, tổ dân phố", "All villages"),
    "learners.all_groups": ("Tất cả nhóm", "All groups"),
    "learners.new": ("Đăng ký người học", "Register a learner"),
    "learners.empty": (
        "Chưa có người học nào phù hợp. Hãy đăng ký người học mới hoặc nhập từ tệp.",
        "No learner matches. Register a new learner or import a file.",
    ),
    "learners.more": ("Xem thêm", "More"),
    "learners.edit": ("Sửa thông tin", "Edit details"),
    "learners.record": ("Hồ sơ người học", "Learner's record"),
    "learners.results": ("Kết quả học", "Results"),
    "learners.no_results": (
        "Chưa có kết quả nào. Ghi kết quả đầu tiên bằng biểu mẫu bên dưới.",
        "No result yet. Record the first one with the form below.",
    ),
    "learners.certificates": ("Chứng nhận", "Certificates"),
    "learners.no_certificates": (
        "Chưa có chứng nhận: chứng nhận được cấp tự động khi hoàn thành đủ các khóa của"
        " một chương trình.",
        "No certificate yet: one is issued automatically when every course of a program is passed.",
    ),
    "learners.record_result": ("Ghi kết quả", "Record a result"),
    "learners.saved": ("Đã lưu.", "Saved."),
    "learners.result_saved": ("Đã ghi kết quả.", "The result was recorded."),
    "learners.consent": (
        "Người học đồng ý cho theo dõi kết quả học kỹ năng số",
        "The learner agrees to have their digital-skills results tracked",
    ),
    "learners.duplicate_open": ("Mở hồ sơ đã có", "Open the existing record"),
    "field.citizen_id": ("Số định danh cá nhân (12 chữ số)", "Personal ID number (12 digits)"),
    "field.citizen_id_masked": ("Số định danh", "ID number"),
    "field.citizen_id_keep": (
        "Để trống nếu không đổi số định danh",
        "Leave empty to keep the ID number",
    ),
    "field.full_name": ("Họ và tên", "Full name"),
    "field.birth_date": ("Ngày sinh", "Birth date"),
    "field.sex": ("Giới tính", "Sex"),
    "sex.male": ("Nam", "Male"),
    "sex.female": ("Nữ", "Female"),
    "field.village_id": ("Thôn, tổ dân phố", "Village"),
    "field.no_village": ("(chưa chọn)", "(none)"),
    "field.groups": ("Nhóm đối tượng", "Target groups"),
    "group.citizen": ("Người dân", "Citizen"),
    "group.official": ("Cán bộ, công chức, viên chức", "Official"),
    "group.pupil": ("Học sinh, sinh viên", "Pupil or student"),
    "group.worker": ("Người lao động doanh nghiệp, HTX", "Enterprise worker"),
    "field.official_level": ("Cấp (cán bộ)", "Level (officials)"),
    "level.commune": ("Cấp xã", "Commune"),
    "level.province": ("Cấp tỉnh", "Province"),
    "field.agency": ("Cơ quan (cán bộ)", "Agency (officials)"),
    "field.phone": ("Số điện thoại", "Phone"),
    "field.consent": ("Đồng ý", "Consent"),
    "field.course_code": ("Khóa học", "Course"),
    "field.completed_at": ("Ngày hoàn thành", "Completed on"),
    "field.score": ("Điểm (0–100)", "Score (0–100)"),
    "field.method": ("Hình thức", "Method"),
    "method.class": ("Lớp học", "Class"),
    "method.home_visit": ("Hướng dẫn tại nhà", "Home visit"),
    "method.online": ("Trực tuyến", "Online"),
    "result.passed": ("Đạt", "Passed"),
    "result.failed": ("Chưa đạt", "Not passed"),
    "certificate.valid": ("Hợp lệ", "Valid"),
    "certificate.revoked": ("Đã thu hồi", "Revoked"),
    "common.save": ("Lưu", "Save"),
    "common.cancel": ("Hủy", "Cancel"),
    "common.open": ("Mở", "Open"),
}
register_messages(MESSAGES)


def _learner_of_commune(
    session: Session, actor: Actor, commune: Commune, learner_id: uuid.UUID, action: str
) -> Learner:
    """The learner, loaded in the user's scope as the API does, and of this page's commune."""
    learner = learners.get_in_scope(session, actor=actor, learner_id=learner_id, action=action)
    if learner.commune_code != commune.code:
        raise NotFound("what.learner")
    return learner


def _courses(session: Session) -> list[Any]:
    courses, _ = catalog.list_courses(session, active=True, audience=None, cursor=None, limit=500)
    return list(courses)


@router.get("/communes/{code}/learners", response_class=HTMLResponse)
def learner_list(
    request: Request,
    code: CommuneCode,
    session: SessionDep,
    actor: PageActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    village_id: Annotated[str | None, Query()] = None,
    group: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A commune's learners: accent-insensitive search, by village and by group."""
    commune = commune_in_scope(session, actor, code)
    villages = units.list_villages(session, commune.code)
    chosen_village = int(village_id) if village_id and village_id.isdigit() else None
    chosen_group = Group(group) if group and group in Group.__members__ else None
    rows, next_cursor = learners.list_learners(
        session,
        actor=actor,
        query=q or None,
        commune_code=commune.code,
        village_id=chosen_village,
        group=chosen_group,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    lang = page_language(request)
    more = {"q": q or "", "village_id": chosen_village or "", "group": group or ""}
    return render(
        request,
        "learners/list.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "village_options": [(v.id, v.name) for v in villages],
            "village_names": {v.id: v.name for v in villages},
            "group_options": _group_options(lang),
            "more_url": f"?{urlencode(more | {'cursor': next_cursor or ''})}",
            "learners": [learners.to_public(row) for row in rows],
            "next_cursor": next_cursor,
            "q": q or "",
            "village_id": chosen_village,
            "group": chosen_group.value if chosen_group else "",
        },
    )


def _group_options(lang: str) -> list[tuple[str, str]]:
    return [(g.value, page_translate(f"group.{g.value}", lang)) for g in Group]


def _form_values(form: Any) -> dict[str, Any]:
    values = blank_to_none(
        form,
        "citizen_id",
        "full_name",
        "birth_date",
        "sex",
        "village_id",
        "official_level",
        "agency",
        "phone",
    )
    values["groups"] = [g for g in form.getlist("groups") if g]
    return values


def _edit_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    *,
    learner: Learner | None,
    values: dict[str, Any],
    problems: dict[str, str],
    duplicate_id: str | None = None,
) -> Response:
    base = f"/communes/{commune.code}/learners"
    return render(
        request,
        "learners/form.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "learner": learner,
            "village_options": [(v.id, v.name) for v in units.list_villages(session, commune.code)],
            "group_options": _group_options(page_language(request)),
            "action": f"{base}/{learner.id}/edit" if learner else base,
            "cancel_url": f"{base}/{learner.id}" if learner else base,
            "values": values,
            "errors": problems,
            "duplicate_id": duplicate_id,
        },
        status_code=422 if problems else 200,
    )


@router.get("/communes/{code}/learners/new", response_class=HTMLResponse)
def new_learner(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """The registration form."""
    commune = commune_in_scope(session, actor, code)
    return _edit_page(
        request,
        session,
        actor,
        commune,
        learner=None,
        values={"groups": ["citizen"], "consent": True},
        problems={},
    )


@router.post("/communes/{code}/learners", response_class=HTMLResponse)
async def register_learner(
    request: Request,
    code: CommuneCode,
    session: SessionDep,
    actor: PageActor,
    personal_ids: PersonalIdsDep,
    identity: IdentityCheckDep,
) -> Response:
    """Register a learner with the API's rules; problems are shown beside their fields."""
    form = await request.form()
    values = _form_values(form)
    values["consent"] = form.get("consent") == "yes"
    lang = page_language(request)
    htmx = request.headers.get("hx-request") == "true"

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        body = {k: v for k, v in values.items() if k != "consent"} | {"commune_code": commune.code}
        if values["consent"]:
            body["consent"] = {"purpose": CONSENT_PURPOSE, "given_at": datetime.now(UTC)}
        try:
            data = LearnerCreate.model_validate(body)
            identity.confirm(
                citizen_id=data.citizen_id, full_name=data.full_name, birth_date=data.birth_date
            )
            learner, _ = learners.register_learner(
                session, actor=actor, personal_ids=personal_ids, data=data
            )
        except ValidationError as exc:
            problems = validation_errors(exc, lang)
            return _again(commune, problems)
        except (Invalid, Conflict) as exc:
            session.rollback()
            existing = exc.extra.get("existing_id")
            return _again(commune, domain_errors(exc, lang), existing)
        target = f"/communes/{commune.code}/learners/{learner.id}"
        if htmx:
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, 303)

    def _again(commune: Commune, problems: dict[str, str], existing: str | None = None) -> Response:
        # The ID number typed is never sent back: the page's script keeps it in the form.
        shown = {k: v for k, v in values.items() if k != "citizen_id"}
        page = _edit_page(
            request,
            session,
            actor,
            commune,
            learner=None,
            values=shown,
            problems=problems,
            duplicate_id=existing,
        )
        if htmx:
            # htmx swaps only successful answers in.
            page.status_code = 200
        return page

    return await run_in_threadpool(work)


@router.get(
    "/communes/{code}/learners/{learner_id}",
    response_class=HTMLResponse,
    dependencies=[WritesOnRead],
)
def learner_record(
    request: Request,
    code: CommuneCode,
    learner_id: LearnerId,
    session: SessionDep,
    actor: PageActor,
    signer: SignerDep,
) -> Response:
    """One learner's record, results and certificates; the read is audited as in the API."""
    commune = commune_in_scope(session, actor, code)
    learner = _learner_of_commune(session, actor, commune, learner_id, "learner.read")
    return _record_page(request, session, actor, commune, learner, signer=signer)


def _record_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    learner: Learner,
    *,
    signer: Any,
    values: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    learners.record_read(session, actor=actor, learner=learner)
    completions, _ = training.list_completions(
        session, actor=actor, learner=learner, cursor=None, limit=500
    )
    certificate_rows, _ = certificates.list_for_learner(
        session, learner_id=learner.id, cursor=None, limit=500
    )
    village = None
    if learner.village_id is not None:
        village = next(
            (v for v in units.list_villages(session, commune.code) if v.id == learner.village_id),
            None,
        )
    problems = problems or {}
    lang = page_language(request)
    courses = _courses(session)
    title = "title_en" if lang == "en" else "title_vi"
    saved = request.query_params.get("saved")
    if notice is None and saved:
        notice = page_translate(
            "learners.result_saved" if saved == "result" else "learners.saved", lang
        )
    return render(
        request,
        "learners/record.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "course_options": [
                (c.code, f"{c.code} — {getattr(c, title) or c.title_vi}") for c in courses
            ],
            "course_titles": {c.code: getattr(c, title) or c.title_vi for c in courses},
            "method_options": [
                (m, page_translate(f"method.{m}", lang)) for m in ("home_visit", "class", "online")
            ],
            "today": vietnam_today().isoformat(),
            "learner": learners.to_public(learner),
            "village": village,
            "completions": completions,
            "certificates": [certificates.to_public(session, c, signer) for c in certificate_rows],
            "values": values or {"method": "home_visit"},
            "errors": problems,
            "notice": notice,
        },
        status_code=422 if problems else 200,
    )


@router.post("/communes/{code}/learners/{learner_id}/completions", response_class=HTMLResponse)
async def record_result(
    request: Request,
    code: CommuneCode,
    learner_id: LearnerId,
    session: SessionDep,
    actor: PageActor,
    signer: SignerDep,
) -> Response:
    """Record a result for the learner with the API's rules (the best result is kept)."""
    form = await request.form()
    values = blank_to_none(form, "course_code", "completed_at", "score", "method")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        learner = _learner_of_commune(session, actor, commune, learner_id, "completion.create")
        try:
            data = CompletionCreate.model_validate(values | {"learner_id": str(learner.id)})
            training.record_completion(session, actor=actor, data=data)
        except ValidationError as exc:
            problems = validation_errors(exc, lang)
        except (Invalid, Conflict) as exc:
            session.rollback()
            problems = domain_errors(exc, lang)
        else:
            return RedirectResponse(
                f"/communes/{commune.code}/learners/{learner.id}?saved=result", 303
            )
        return _record_page(
            request,
            session,
            actor,
            commune,
            learner,
            signer=signer,
            values=values,
            problems=problems,
        )

    return await run_in_threadpool(work)


@router.get(
    "/communes/{code}/learners/{learner_id}/edit",
    response_class=HTMLResponse,
    dependencies=[WritesOnRead],
)
def edit_learner(
    request: Request,
    code: CommuneCode,
    learner_id: LearnerId,
    session: SessionDep,
    actor: PageActor,
) -> Response:
    """The form to change a learner's details (the ID number is never shown in clear)."""
    commune = commune_in_scope(session, actor, code)
    learner = _learner_of_commune(session, actor, commune, learner_id, "learner.read")
    learners.record_read(session, actor=actor, learner=learner)
    public = learners.to_public(learner)
    values = public.model_dump(
        include={
            "full_name",
            "birth_date",
            "sex",
            "village_id",
            "official_level",
            "agency",
            "phone",
        }
    )
    values["groups"] = [g.value for g in public.groups]
    return _edit_page(request, session, actor, commune, learner=learner, values=values, problems={})


@router.post("/communes/{code}/learners/{learner_id}/edit", response_class=HTMLResponse)
async def update_learner(
    request: Request,
    code: CommuneCode,
    learner_id: LearnerId,
    session: SessionDep,
    actor: PageActor,
    personal_ids: PersonalIdsDep,
) -> Response:
    """Change a learner's details with the API's rules."""
    form = await request.form()
    values = _form_values(form)
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        learner = _learner_of_commune(session, actor, commune, learner_id, "learner.update")
        body = dict(values)
        # A form cannot leave a field out: an emptied village or phone is cleared.
        for name in ("village_id", "phone", "official_level", "agency"):
            body.setdefault(name, None)
        try:
            data = LearnerUpdate.model_validate(body)
            learners.update_learner(
                session, actor=actor, personal_ids=personal_ids, learner=learner, data=data
            )
        except ValidationError as exc:
            problems = validation_errors(exc, lang)
        except (Invalid, Conflict) as exc:
            session.rollback()
            problems = domain_errors(exc, lang)
        else:
            return RedirectResponse(f"/communes/{commune.code}/learners/{learner.id}?saved=1", 303)
        shown = {k: v for k, v in values.items() if k != "citizen_id"}
        return _edit_page(
            request, session, actor, commune, learner=learner, values=shown, problems=problems
        )

    return await run_in_threadpool(work)
