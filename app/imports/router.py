"""Imports: upload a file, follow its progress, download its rejected rows, get templates."""

import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.accounts.deps import CurrentActor
from app.core.db import SessionDep, WritesOnRead
from app.core.deps import PersonalIdsDep, SettingsDep
from app.core.i18n import translate
from app.core.problems import language_of
from app.core.spreadsheets import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    csv_chunks,
    write_xlsx,
    xlsx_bytes,
)
from app.imports import service
from app.imports.columns import COLUMNS, layout_for
from app.imports.models import CommuneScheme, ImportJob, ImportKind, ImportStatus
from app.imports.schemas import REJECTED_SHOWN, ImportPublic, RejectedRow
from app.sync import problems

router = APIRouter(prefix="/imports", tags=["imports"])
CSV_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}
XLSX_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
}
EITHER_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {**CSV_FILE[200]["content"], **XLSX_FILE[200]["content"]}}
}
PREFIX = "/api/v1/imports"


def to_public(session: Session, job: ImportJob, request: Request) -> ImportPublic:
    lang = language_of(request)
    layout = layout_for(ImportKind(job.kind), job.columns)
    rejected = [
        RejectedRow(
            row=error.row_number,
            cells=service.masked_cells(job, error),
            reason=service.reason(job, error.problem, lang),
            problem=problems.render(error.problem, lang),
        )
        for error in service.rejected_rows(session, job, limit=REJECTED_SHOWN)
    ]
    return ImportPublic(
        id=job.id,
        kind=ImportKind(job.kind),
        status=ImportStatus(job.status),
        file_name=job.file_name,
        file_format=job.file_format,
        file_bytes=job.file_bytes,
        rows_read=job.rows_read,
        rows_stored=job.rows_stored,
        rows_duplicate=job.rows_duplicate,
        rows_rejected=job.rows_rejected,
        ignored_columns=layout.ignored,
        failure=translate(job.failure, lang) if job.failure else None,
        default_commune_code=job.default_commune_code,
        commune_scheme=CommuneScheme(job.commune_scheme),
        created_by_id=job.created_by_id,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        rejected=rejected,
        rejected_csv=f"{PREFIX}/{job.id}/rejected.csv",
        rejected_xlsx=f"{PREFIX}/{job.id}/rejected.xlsx",
    )


@router.post("", response_model=ImportPublic, status_code=status.HTTP_202_ACCEPTED)
def upload(
    kind: Annotated[ImportKind, Form(description="learners, completions hoặc baselines")],
    file: Annotated[UploadFile, Form(description="Tệp CSV (UTF-8) hoặc XLSX / CSV or XLSX")],
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    commune_code: Annotated[
        str | None,
        Form(
            pattern=r"^\d{5}$",
            description="Xã/phường cho các dòng không có cột Mã xã / Commune for rows without one",
        ),
    ] = None,
    commune_scheme: Annotated[
        CommuneScheme,
        Form(
            description=(
                "legacy: cột Mã xã ghi mã cũ (trước 1/7/2025), chỉ với learners / legacy: the"
                " file's commune_code column holds codes of the old map (learners only)"
            )
        ),
    ] = CommuneScheme.official,
) -> ImportPublic:
    """Nhập tệp / Upload a CSV or XLSX file of learners, completions or baselines.

    Answers 202 at once; the rows are stored in the background, and
    `GET /imports/{id}` shows how far it got and which rows were refused, and why.
    """
    job = service.create_import(
        session,
        actor=actor,
        settings=settings,
        kind=kind,
        upload=file.file,
        file_name=file.filename or "upload",
        default_commune_code=commune_code,
        commune_scheme=commune_scheme,
    )
    # Woken once the response's transaction is committed, so the worker sees the import.
    background.add_task(request.app.state.import_worker.wake)
    response.headers["Location"] = f"{PREFIX}/{job.id}"
    return to_public(session, job, request)


TemplateName = Annotated[
    str,
    PathParam(
        pattern=r"^(learners|completions|baselines)\.(csv|xlsx)$",
        description="learners.csv, learners.xlsx, completions.csv, …",
    ),
]


@router.get("/templates/{file_name}", response_class=Response, responses=EITHER_FILE)
def template(file_name: TemplateName, request: Request) -> Response:
    """Tệp mẫu với tiêu đề cột tiếng Việt / A template with the Vietnamese column headers."""
    kind_name, _, file_format = file_name.partition(".")
    columns = COLUMNS[ImportKind(kind_name)]
    header = [c.vi for c in columns]
    disposition = {"Content-Disposition": f'attachment; filename="{file_name}"'}
    if file_format == "csv":
        body = "".join(csv_chunks(header, [])).encode()
        return Response(body, media_type=CSV_MEDIA_TYPE, headers=disposition)
    lang = language_of(request)
    guide = [
        (c.vi, c.en, translate("import.yes" if c.required else "import.no", lang), c.example)
        for c in columns
    ]
    guide_header = [translate(k, lang) for k in ("import.guide_column", "import.guide_english")]
    guide_header += [translate(k, lang) for k in ("import.guide_required", "import.guide_example")]
    content = xlsx_bytes([(kind_name, header, []), ("Huong dan", guide_header, guide)])
    return Response(content, media_type=XLSX_MEDIA_TYPE, headers=disposition)


@router.get("/{import_id}", response_model=ImportPublic)
def get_import(
    import_id: Annotated[uuid.UUID, PathParam(description="Import id")],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
) -> ImportPublic:
    """Tiến độ và các dòng bị từ chối / Progress and the first rejected rows, with reasons."""
    job = service.get_in_scope(session, actor=actor, import_id=import_id)
    return to_public(session, job, request)


# A download is audited, so these reads write.
@router.get(
    "/{import_id}/rejected.csv",
    response_class=StreamingResponse,
    dependencies=[WritesOnRead],
    responses=CSV_FILE,
)
def rejected_csv(
    import_id: Annotated[uuid.UUID, PathParam(description="Import id")],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    personal_ids: PersonalIdsDep,
) -> StreamingResponse:
    """Các dòng bị từ chối (CSV) để sửa và tải lên lại / Rejected rows to correct and re-send.

    The original columns (the personal ID number as uploaded), the row number and the reason.
    Cells a spreadsheet would run as formulas are neutralized.
    """
    job = service.get_in_scope(
        session, actor=actor, import_id=import_id, action="import.rejected_read"
    )
    service.record_download(session, actor=actor, job=job)
    lang = language_of(request)
    engine = request.app.state.engine

    def chunks() -> object:
        # The request's session is closed once the answer starts: read with a session of
        # its own while streaming.
        with Session(engine) as reader:
            yield from csv_chunks(
                service.download_header(job, lang),
                service.iter_download(reader, job, personal_ids, lang),
            )

    name = f"{Path(job.file_name).stem}-rejected.csv"
    return StreamingResponse(
        chunks(),  # type: ignore[arg-type]
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": _attachment(name)},
    )


@router.get(
    "/{import_id}/rejected.xlsx",
    response_class=FileResponse,
    dependencies=[WritesOnRead],
    responses=XLSX_FILE,
)
def rejected_xlsx(
    import_id: Annotated[uuid.UUID, PathParam(description="Import id")],
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    personal_ids: PersonalIdsDep,
) -> FileResponse:
    """Các dòng bị từ chối (XLSX) / Rejected rows as an Excel workbook."""
    job = service.get_in_scope(
        session, actor=actor, import_id=import_id, action="import.rejected_read"
    )
    service.record_download(session, actor=actor, job=job)
    lang = language_of(request)
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as target:
        write_xlsx(
            target,
            [
                (
                    "rejected",
                    service.download_header(job, lang),
                    service.iter_download(session, job, personal_ids, lang),
                )
            ],
        )
    name = f"{Path(job.file_name).stem}-rejected.xlsx"
    return FileResponse(
        target.name,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": _attachment(name)},
        background=BackgroundTask(Path(target.name).unlink, missing_ok=True),
    )


def _attachment(name: str) -> str:
    """A download name: plain ASCII for old clients, the real (Vietnamese) one for the rest."""
    fallback = "rejected." + name.rsplit(".", 1)[-1]
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
