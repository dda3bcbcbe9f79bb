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
from app.imports.models import CommuneScheme, ImportJob, ImportKind, ImportStatus
from app.web.forms import domain_errors
from app.web.i18n import page_language, register_messages, translate
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import Unit, crumbs, unit_in_scope

router = APIRouter()

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
    "imports.scheme": ("Mã xã trong tệp", "Commune codes in the file"),
    "imports.scheme.official": ("Mã mới (từ 1/7/2025)", "New codes (from 1 July 2025)"),
    "imports.scheme.legacy": (
        "Mã cũ (trước 1/7/2025; chỉ người học)",
        "Old codes (before 1 July 2025; learners only)",
    ),
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


def _made_for(job: ImportJob, unit: Unit) -> bool:
    """A commune's imports are those uploaded on its page; a province's, those uploaded on
    its page (rows name their own communes) by someone whose scope covers it."""
    if unit.commune is not None:
        return job.default_commune_code == unit.commune.code
    assert unit.province is not None
    return job.default_commune_code is None and job.province_code in (None, unit.province.code)


def _recent(session: Session, actor: Actor, unit: Unit) -> list[ImportJob]:
    """The latest imports made on this unit's page that the user may open."""
    statement = select(ImportJob).order_by(col(ImportJob.created_at).desc()).limit(RECENT)
    if unit.commune is not None:
        statement = statement.where(col(ImportJob.default_commune_code) == unit.commune.code)
    else:
        statement = statement.where(col(ImportJob.default_commune_code).is_(None))
    return [
        job
        for job in session.exec(statement).all()
        if _made_for(job, unit)
        and (
            job.created_by_id == actor.user_id or actor.covers(job.province_code, job.commune_code)
        )
    ]


def _import_of_unit(session: Session, actor: Actor, unit: Unit, import_id: uuid.UUID) -> ImportJob:
    """The import, loaded in the user's scope as the API does, and made on this unit's page."""
    job = service.get_in_scope(session, actor=actor, import_id=import_id)
    if not _made_for(job, unit):
        raise NotFound("what.import")
    return job


def _upload_page(
    request: Request,
    session: Session,
    actor: Actor,
    unit: Unit,
    *,
    errors: dict[str, str],
    kind: str = "learners",
    scheme: str = CommuneScheme.official.value,
) -> Response:
    lang = page_language(request)
    return render(
        request,
        "imports/upload.html",
        {
            "unit": unit,
            "crumbs": crumbs(request, session, actor, unit.commune, province=unit.province),
            "kinds": [(k.value, translate(f"imports.kind.{k.value}", lang)) for k in ImportKind],
            "kind": kind,
            "schemes": [
                (option.value, translate(f"imports.scheme.{option.value}", lang))
                for option in CommuneScheme
            ],
            "scheme": scheme,
            "errors": errors,
            "jobs": _recent(session, actor, unit),
        },
        status_code=422 if errors else 200,
    )


def _imports_page(level: str):  # type: ignore[no-untyped-def]
    def page(request: Request, code: str, session: SessionDep, actor: PageActor) -> Response:
        """The upload form, the templates and the unit's recent imports."""
        unit = unit_in_scope(session, actor, level, code)
        return _upload_page(request, session, actor, unit, errors={})

    return page


def _upload(level: str):  # type: ignore[no-untyped-def]
    async def upload(
        request: Request,
        code: str,
        background: BackgroundTasks,
        session: SessionDep,
        actor: PageActor,
        settings: SettingsDep,
    ) -> Response:
        """Queue the file as the API does; then follow its progress on its own page."""
        form = await request.form()
        kind_value = str(form.get("kind") or "")
        scheme_value = str(form.get("commune_scheme") or CommuneScheme.official.value)
        file = form.get("file")
        lang = page_language(request)

        def work() -> Response:
            unit = unit_in_scope(session, actor, level, code)
            if kind_value not in ImportKind.__members__:
                errors = {"kind": validation_message("enum", "", lang)}
                return _upload_page(request, session, actor, unit, errors=errors)
            if scheme_value not in CommuneScheme.__members__:
                errors = {"commune_scheme": validation_message("enum", "", lang)}
                return _upload_page(request, session, actor, unit, errors=errors, kind=kind_value)
            if not isinstance(file, UploadFile) or not file.filename:
                errors = {"file": translate("imports.file_required", lang)}
                return _upload_page(request, session, actor, unit, errors=errors, kind=kind_value)
            try:
                job = service.create_import(
                    session,
                    actor=actor,
                    settings=settings,
                    kind=ImportKind(kind_value),
                    upload=file.file,
                    file_name=file.filename,
                    default_commune_code=unit.commune.code if unit.commune else None,
                    commune_scheme=CommuneScheme(scheme_value),
                )
            except (Invalid, service.PayloadTooLarge) as exc:
                session.rollback()
                errors = domain_errors(exc, lang)
                # A refused file's problem is about the file as a whole.
                if "__all__" in errors:
                    errors = {"file": errors.pop("__all__")} | errors
                again = {"kind": kind_value, "scheme": scheme_value}
                return _upload_page(request, session, actor, unit, errors=errors, **again)
            background.add_task(request.app.state.import_worker.wake)
            return RedirectResponse(f"{unit.path}/imports/{job.id}", 303)

        return await run_in_threadpool(work)

    return upload


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


def _job_page(level: str, template: str):  # type: ignore[no-untyped-def]
    def page(
        request: Request,
        code: str,
        import_id: ImportId,
        session: SessionDep,
        actor: PageActor,
        settings: SettingsDep,
    ) -> Response:
        """One import: its progress (htmx polls the fragment while it runs), its rejected rows."""
        unit = unit_in_scope(session, actor, level, code)
        job = _import_of_unit(session, actor, unit, import_id)
        return render(
            request,
            template,
            {
                "unit": unit,
                "crumbs": crumbs(request, session, actor, unit.commune, province=unit.province),
                "job": imports_api.to_public(session, job, request),
                "progress": _progress(settings, job),
            },
        )

    return page


def _rejected(level: str, download: Any):  # type: ignore[no-untyped-def]
    def rejected(
        request: Request,
        code: str,
        import_id: ImportId,
        session: SessionDep,
        actor: PageActor,
        personal_ids: PersonalIdsDep,
    ) -> Response:
        """The rejected rows, exactly as the API makes them (the download is audited)."""
        unit = unit_in_scope(session, actor, level, code)
        job = _import_of_unit(session, actor, unit, import_id)
        answer: Response = download(job.id, request, session, actor, personal_ids)
        return answer

    return rejected


for _level, _prefix in (("commune", "/communes/{code}"), ("province", "/provinces/{code}")):
    for _path, _endpoint, _methods in (
        ("/imports", _imports_page(_level), ["GET"]),
        ("/imports", _upload(_level), ["POST"]),
        ("/imports/{import_id}", _job_page(_level, "imports/job.html"), ["GET"]),
        ("/imports/{import_id}/progress", _job_page(_level, "imports/_progress.html"), ["GET"]),
    ):
        router.add_api_route(
            _prefix + _path, _endpoint, methods=_methods, response_class=HTMLResponse
        )
    for _name, _download in (
        ("rejected.csv", imports_api.rejected_csv),
        ("rejected.xlsx", imports_api.rejected_xlsx),
    ):
        router.add_api_route(
            _prefix + "/imports/{import_id}/" + _name,
            _rejected(_level, _download),
            dependencies=[WritesOnRead],
        )
