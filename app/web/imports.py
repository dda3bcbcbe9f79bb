"""Import pages: upload a file of learners, completions or baselines for a commune, follow
its progress (htmx polls a fragment while rows are stored), download the rejected rows."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.accounts.actor import Actor
from app.core.config import Settings
from app.core.db import SessionDep, WritesOnRead
from app.core.deps import PersonalIdsDep, SettingsDep
from app.core.errors import Invalid, NotFound
from app.core.i18n import validation_message
from app.imports import router as imports_api
from app.imports import service
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.units.models import Commune
from app.web.forms import domain_errors
from app.web.i18n import page_language, register_messages, translate
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import commune_in_scope, crumbs

router = APIRouter()

CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
ImportId = Annotated[uuid.UUID, Path()]
RECENT = 20

MESSAGES = {
    "imports.title": ("Nhập dữ liệu từ tệp", "Import from a file"),
    "imports.intro": (
        "Tải lên tệp CSV (UTF-8) hoặc Excel (XLSX) theo tệp mẫu. Các dòng được lưu dần;"
        " dòng nào bị từ chối sẽ có lý do để sửa và tải lên lại.",
        "Upload a CSV (UTF-8) or Excel (XLSX) file laid out as the template. Rows are stored"
        " as they are read; each refused row comes with its reason, to correct and upload again.",
    ),
    "imports.templates": ("Tệp mẫu", "Templates"),
    "imports.kind": ("Loại dữ liệu", "Kind of data"),
    "imports.kind.learners": ("Người học", "Learners"),
    "imports.kind.completions": ("Kết quả học", "Results"),
    "imports.kind.baselines": ("Số liệu mẫu số", "Baselines"),
    "imports.file": ("Tệp (CSV hoặc XLSX)", "File (CSV or XLSX)"),
    "imports.upload": ("Tải lên", "Upload"),
    "imports.recent": ("Các lần nhập gần đây", "Recent imports"),
    "imports.none": (
        "Chưa có lần nhập nào. Tải tệp mẫu, điền dữ liệu rồi tải lên bằng biểu mẫu trên.",
        "No import yet. Download a template, fill it in and upload it with the form above.",
    ),
    "imports.file_required": ("Hãy chọn một tệp.", "Choose a file."),
    "imports.progress": ("Tiến độ", "Progress"),
    "imports.status.queued": ("Đang chờ", "Queued"),
    "imports.status.running": ("Đang nhập", "Importing"),
    "imports.status.done": ("Đã xong", "Finished"),
    "imports.status.failed": ("Đã dừng", "Stopped"),
    "imports.rows_read": ("Đã đọc", "Rows read"),
    "imports.rows_stored": ("Đã lưu", "Stored"),
    "imports.rows_duplicate": ("Đã có từ trước", "Already stored"),
    "imports.rows_rejected": ("Bị từ chối", "Rejected"),
    "imports.of_total": ("{done} / khoảng {total} dòng", "{done} of about {total} rows"),
    "imports.rows": ("{done} dòng", "{done} rows"),
    "imports.rejected": ("Các dòng bị từ chối", "Rejected rows"),
    "imports.rejected_download": (
        "Tải các dòng bị từ chối để sửa và tải lên lại:",
        "Download the rejected rows to correct and upload again:",
    ),
    "imports.row": ("Dòng", "Row"),
    "imports.reason": ("Lý do", "Reason"),
    "imports.no_rejected": ("Không có dòng nào bị từ chối.", "No row was rejected."),
    "imports.file_name": ("Tệp", "File"),
    "imports.created_at": ("Lúc tải lên", "Uploaded"),
    "imports.status": ("Trạng thái", "Status"),
    "imports.another": ("Nhập tệp khác", "Import another file"),
}
register_messages(MESSAGES)


def _recent(session: Session, actor: Actor, commune: Commune) -> list[ImportJob]:
    """The latest imports made for this commune that the user may open."""
    statement = (
        select(ImportJob)
        .where(col(ImportJob.default_commune_code) == commune.code)
        .order_by(col(ImportJob.created_at).desc())
        .limit(RECENT)
    )
    return [
        job
        for job in session.exec(statement).all()
        if job.created_by_id == actor.user_id or actor.covers(job.province_code, job.commune_code)
    ]


def _import_of_commune(
    session: Session, actor: Actor, commune: Commune, import_id: uuid.UUID
) -> ImportJob:
    job = service.get_in_scope(session, actor=actor, import_id=import_id)
    if job.default_commune_code != commune.code:
        raise NotFound("what.import")
    return job


def _upload_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    *,
    errors: dict[str, str],
    kind: str = "learners",
) -> Response:
    lang = page_language(request)
    return render(
        request,
        "imports/upload.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "kinds": [(k.value, translate(f"imports.kind.{k.value}", lang)) for k in ImportKind],
            "kind": kind,
            "errors": errors,
            "jobs": _recent(session, actor, commune),
        },
        status_code=422 if errors else 200,
    )


@router.get("/communes/{code}/imports", response_class=HTMLResponse)
def imports_page(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """The upload form, the templates and the commune's recent imports."""
    commune = commune_in_scope(session, actor, code)
    return _upload_page(request, session, actor, commune, errors={})


@router.post("/communes/{code}/imports", response_class=HTMLResponse)
async def upload(
    request: Request,
    code: CommuneCode,
    background: BackgroundTasks,
    session: SessionDep,
    actor: PageActor,
    settings: SettingsDep,
) -> Response:
    """Queue the file as the API does; then follow its progress on its own page."""
    form = await request.form()
    kind_value = str(form.get("kind") or "")
    upload = form.get("file")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        if kind_value not in ImportKind.__members__:
            return _upload_page(
                request, session, actor, commune, errors={"kind": _enum_message(lang)}
            )
        if not isinstance(upload, UploadFile) or not upload.filename:
            message = translate("imports.file_required", lang)
            return _upload_page(
                request, session, actor, commune, errors={"file": message}, kind=kind_value
            )
        try:
            job = _create(session, actor, settings, commune, ImportKind(kind_value), upload)
        except (Invalid, service.PayloadTooLarge) as exc:
            session.rollback()
            errors = domain_errors(exc, lang)
            # A refused file's problem is about the file as a whole.
            errors = {"file": errors.pop("__all__")} | errors if "__all__" in errors else errors
            return _upload_page(request, session, actor, commune, errors=errors, kind=kind_value)
        background.add_task(request.app.state.import_worker.wake)
        return RedirectResponse(f"/communes/{commune.code}/imports/{job.id}", 303)

    return await run_in_threadpool(work)


def _enum_message(lang: str) -> str:
    return validation_message("enum", "", lang)


def _create(
    session: Session,
    actor: Actor,
    settings: Settings,
    commune: Commune,
    kind: ImportKind,
    upload: UploadFile,
) -> ImportJob:
    return service.create_import(
        session,
        actor=actor,
        settings=settings,
        kind=kind,
        upload=upload.file,
        file_name=upload.filename or "upload",
        default_commune_code=commune.code,
    )


def _progress(settings: Settings, job: ImportJob) -> dict[str, Any]:
    """How far the import got, for the progress bar: a share of the file when it is known."""
    finished = job.status in (ImportStatus.done.value, ImportStatus.failed.value)
    total = None
    if not finished:
        path = service.file_path(settings, job)
        if path.exists():
            total = service.estimated_rows(path, job.file_format)
    if finished:
        total = job.rows_read
    return {
        "finished": finished,
        "total": total,
        "value": min(job.rows_read, total) if total else None,
    }


def _job_context(request: Request, session: Session, settings: Settings, job: ImportJob) -> Any:
    public = imports_api.to_public(session, job, request)
    return {"job": public, "progress": _progress(settings, job)}


@router.get("/communes/{code}/imports/{import_id}", response_class=HTMLResponse)
def import_page(
    request: Request,
    code: CommuneCode,
    import_id: ImportId,
    session: SessionDep,
    actor: PageActor,
    settings: SettingsDep,
) -> Response:
    """One import: its progress (polled while it runs) and its rejected rows."""
    commune = commune_in_scope(session, actor, code)
    job = _import_of_commune(session, actor, commune, import_id)
    return render(
        request,
        "imports/job.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            **_job_context(request, session, settings, job),
        },
    )


@router.get("/communes/{code}/imports/{import_id}/progress", response_class=HTMLResponse)
def import_progress(
    request: Request,
    code: CommuneCode,
    import_id: ImportId,
    session: SessionDep,
    actor: PageActor,
    settings: SettingsDep,
) -> Response:
    """The progress fragment htmx swaps in every second or so until the import ends."""
    commune = commune_in_scope(session, actor, code)
    job = _import_of_commune(session, actor, commune, import_id)
    return render(
        request,
        "imports/_progress.html",
        {"commune": commune, **_job_context(request, session, settings, job)},
    )


@router.get(
    "/communes/{code}/imports/{import_id}/rejected.csv",
    response_class=Response,
    dependencies=[WritesOnRead],
)
def rejected_csv(
    request: Request,
    code: CommuneCode,
    import_id: ImportId,
    session: SessionDep,
    actor: PageActor,
    personal_ids: PersonalIdsDep,
) -> Response:
    """The rejected rows as CSV, exactly as the API makes them (the download is audited)."""
    commune = commune_in_scope(session, actor, code)
    job = _import_of_commune(session, actor, commune, import_id)
    return imports_api.rejected_csv(job.id, request, session, actor, personal_ids)


@router.get(
    "/communes/{code}/imports/{import_id}/rejected.xlsx",
    response_class=Response,
    dependencies=[WritesOnRead],
)
def rejected_xlsx(
    request: Request,
    code: CommuneCode,
    import_id: ImportId,
    session: SessionDep,
    actor: PageActor,
    personal_ids: PersonalIdsDep,
) -> Response:
    """The rejected rows as an Excel workbook, exactly as the API makes them."""
    commune = commune_in_scope(session, actor, code)
    job = _import_of_commune(session, actor, commune, import_id)
    return imports_api.rejected_xlsx(job.id, request, session, actor, personal_ids)
