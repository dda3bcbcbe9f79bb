"""Imports: taking an upload, showing its progress and its rejected rows.

The rows themselves are stored by `app.imports.worker`, which commits chunk by chunk.
"""

import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.core.config import Settings
from app.core.errors import DomainError, Invalid, NotFound, invalid_field
from app.core.i18n import Language, translate
from app.core.security import PersonalIds, mask_citizen_id
from app.imports import columns
from app.imports.context import Rejection
from app.imports.models import (
    CommuneScheme,
    ImportJob,
    ImportKind,
    ImportRowError,
    ImportStatus,
)
from app.imports.readers import Cell, FileLimits, FileProblem, detect_format, open_sheet
from app.sync import problems
from app.units.models import Commune

COPY_BLOCK = 1024 * 1024
ADMIN_ROLES = (Role.national_admin, Role.province_admin, Role.commune_admin)


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title_key = "too_large.title"

    def __init__(self, limit: int) -> None:
        super().__init__("too_large.detail", limit=limit)


def file_path(settings: Settings, job: ImportJob) -> Path:
    return settings.imports_dir / f"{job.id}.{job.file_format}"


def create_import(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    kind: ImportKind,
    upload: IO[bytes],
    file_name: str,
    default_commune_code: str | None,
    lease_owner: str | None = None,
    commune_scheme: CommuneScheme = CommuneScheme.official,
) -> ImportJob:
    """Spool the upload to disk (at most IMPORT_MAX_BYTES), check its header, queue it.

    With `lease_owner` the import starts claimed by that worker (the console command).
    """
    if kind is ImportKind.baselines:
        actor.require(*ADMIN_ROLES, action="import.create")
    if commune_scheme is CommuneScheme.legacy and kind is not ImportKind.learners:
        # A baseline of an old commune has no one new commune to belong to.
        raise invalid_field("commune_scheme", "import.scheme_learners_only")
    default_commune_code = _default_commune(session, actor, default_commune_code)
    import_id = uuid.uuid4()
    settings.imports_dir.mkdir(parents=True, exist_ok=True)
    partial = settings.imports_dir / f"{import_id}.part"
    size, digest = _spool(upload, partial, settings.import_max_bytes)
    path = partial
    # The spooled file goes on every path but success, whatever the file made the reader do.
    try:
        try:
            file_format = detect_format(partial)
            path = partial.rename(partial.with_suffix("." + file_format))
            with open_sheet(path, file_format, FileLimits.of(settings), header_only=True) as sheet:
                header = sheet.header
                columns.layout_for(kind, header)
        except FileProblem as exc:
            refused = Invalid(exc.key)
            refused.params = dict(exc.params)
            raise refused from None
        return _queue(
            session,
            actor=actor,
            settings=settings,
            import_id=import_id,
            kind=kind,
            file_name=file_name,
            file_format=file_format,
            size=size,
            digest=digest,
            header=header,
            default_commune_code=default_commune_code,
            lease_owner=lease_owner,
            commune_scheme=commune_scheme,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _queue(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    import_id: uuid.UUID,
    kind: ImportKind,
    file_name: str,
    file_format: str,
    size: int,
    digest: str,
    header: list[str],
    default_commune_code: str | None,
    lease_owner: str | None,
    commune_scheme: CommuneScheme,
) -> ImportJob:
    job = ImportJob(
        commune_scheme=commune_scheme.value,
        id=import_id,
        kind=kind.value,
        file_name=Path(file_name.replace("\x00", "")).name[:200] or "upload",
        file_format=file_format,
        file_bytes=size,
        file_sha256=digest,
        columns=header,
        default_commune_code=default_commune_code,
        created_by_id=actor.user_id,
        province_code=actor.province_code,
        commune_code=actor.commune_code,
    )
    if lease_owner is not None:
        job.status = ImportStatus.running.value
        job.lease_owner = lease_owner
        job.lease_until = job.created_at + timedelta(seconds=settings.import_lease_seconds)
        job.started_at = job.created_at
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="import.create",
        target_type="import",
        target_id=job.id,
        province_code=actor.province_code,
        commune_code=actor.commune_code,
        detail={
            "kind": kind.value,
            "bytes": size,
            "format": file_format,
            "commune_scheme": commune_scheme.value,
        },
    )
    return job


def _default_commune(session: Session, actor: Actor, code: str | None) -> str | None:
    if code is None:
        return actor.commune_code
    commune = session.get(Commune, code)
    if commune is None:
        raise invalid_field("commune_code", "commune.unknown")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="import.create"
    )
    return commune.code


def _spool(upload: IO[bytes], target: Path, limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            while block := upload.read(COPY_BLOCK):
                size += len(block)
                if size > limit:
                    raise PayloadTooLarge(limit)
                digest.update(block)
                out.write(block)
        if size == 0:
            raise Invalid("import.empty")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()


def get_in_scope(
    session: Session, *, actor: Actor, import_id: uuid.UUID, action: str = "import.read"
) -> ImportJob:
    """The import, to its uploader and to staff whose scope covers the uploader's; else 404.

    A refusal is audited under `action`.
    """
    job = session.get(ImportJob, import_id)
    if job is None or not (
        job.created_by_id == actor.user_id or actor.covers(job.province_code, job.commune_code)
    ):
        raise NotFound(
            "what.import",
            audit_action=action,
            audit_target=str(import_id),
            audit_commune=None if job is None else job.commune_code,
        )
    return job


def rejected_rows(
    session: Session, job: ImportJob, *, limit: int | None = None
) -> Sequence[ImportRowError]:
    statement = (
        select(ImportRowError)
        .where(ImportRowError.import_id == job.id)
        .order_by(col(ImportRowError.row_number))
    )
    if limit is not None:
        statement = statement.limit(limit)
    return session.exec(statement).all()


def save_rejections(
    session: Session,
    job: ImportJob,
    rejections: Sequence[Rejection],
    cells_by_row: dict[int, list[Cell]],
    personal_ids: PersonalIds,
) -> None:
    """Keep the refused rows: their cells (the ID number apart, encrypted) and the reason."""
    id_column = _citizen_id_column(job)
    for rejection in rejections:
        cells = cells_by_row.get(rejection.number, [])
        kept = {
            name: _json_cell(cells[i] if i < len(cells) else None)
            for i, name in enumerate(job.columns)
            if name and i != id_column
        }
        number = rejection.citizen_id
        session.add(
            ImportRowError(
                import_id=job.id,
                row_number=rejection.number,
                cells=kept,
                citizen_id_enc=personal_ids.encrypt(number) if number else None,
                citizen_id_last4=number[-4:] if number else None,
                problem=rejection.problem,
            )
        )


def _citizen_id_column(job: ImportJob) -> int | None:
    layout = columns.layout_for(ImportKind(job.kind), job.columns)
    return layout.positions.get("citizen_id")


def _json_cell(value: Cell) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def field_header(job: ImportJob, loc: Sequence[Any]) -> str | None:
    """The file's own header for a problem's field location (["body", field, ...])."""
    if len(loc) < 2:
        return None
    name = str(loc[1])
    if name == "consent":
        name = "consent_purpose" if len(loc) > 2 and loc[2] == "purpose" else "consent_given_at"
    name = {"village_id": "village"}.get(name, name)
    layout = columns.layout_for(ImportKind(job.kind), job.columns)
    if name == "learner_id" and "citizen_id" in layout.headers:
        name = "citizen_id"
    known = {c.field: c.vi for c in columns.COLUMNS[ImportKind(job.kind)]}
    return layout.headers.get(name) or known.get(name) or name


def reason(job: ImportJob, problem: problems.ProblemData, lang: Language) -> str:
    """One line saying why a row was refused, naming the file's columns."""
    rendered = problems.render(problem, lang)
    parts = []
    for raw, shown in zip(problem.get("errors", []), rendered.get("errors", []), strict=False):
        header = field_header(job, raw.get("loc", []))
        message = str(shown["msg"]).rstrip(".")
        parts.append(f"{header}: {message}" if header else message)
    if parts:
        return "; ".join(parts)
    return str(rendered.get("detail") or rendered["title"])


def row_cells(job: ImportJob, error: ImportRowError, citizen_id: str | None) -> list[Cell]:
    """The refused row's cells in the file's order, with the ID number as given."""
    id_column = _citizen_id_column(job)
    return [
        citizen_id if i == id_column else error.cells.get(name)
        for i, name in enumerate(job.columns)
    ]


def masked_cells(job: ImportJob, error: ImportRowError) -> dict[str, Any]:
    """The refused row's cells for JSON answers: the ID number masked."""
    id_column = _citizen_id_column(job)
    return {
        name: mask_citizen_id(error.citizen_id_last4) if i == id_column else error.cells.get(name)
        for i, name in enumerate(job.columns)
        if name
    }


def iter_download(
    session: Session, job: ImportJob, personal_ids: PersonalIds, lang: Language
) -> Iterator[list[Cell]]:
    """The rejected rows for the download file: original cells, row number, reason."""
    statement = (
        select(ImportRowError)
        .where(ImportRowError.import_id == job.id)
        .order_by(col(ImportRowError.row_number))
        .execution_options(yield_per=500)
    )
    on_old_map = names_old_codes(job)
    for error in session.exec(statement):
        number = personal_ids.decrypt(error.citizen_id_enc) if error.citizen_id_enc else None
        line = [*row_cells(job, error, number), error.row_number, reason(job, error.problem, lang)]
        if on_old_map:
            line.append(candidates_cell(error.problem))
        yield line


def names_old_codes(job: ImportJob) -> bool:
    """Whether the file's communes are (or may be) on the old map."""
    if job.commune_scheme == CommuneScheme.legacy:
        return True
    layout = columns.layout_for(ImportKind(job.kind), job.columns)
    return "legacy_commune_code" in layout.positions


def candidates_cell(problem: problems.ProblemData) -> str | None:
    """The new communes a row's split old commune may belong to: "00070 Phường Hoàn Kiếm; …"."""
    found = problem.get("candidates") or []
    return "; ".join(f"{c['code']} {c['name']}" for c in found) or None


def download_header(job: ImportJob, lang: Language) -> list[str]:
    header = [
        *job.columns,
        translate("import.row_column", lang),
        translate("import.reason_column", lang),
    ]
    if names_old_codes(job):
        header.append(translate("import.candidates_column", lang))
    return header


def record_download(session: Session, *, actor: Actor, job: ImportJob) -> None:
    """The rejected rows hold personal ID numbers: every download is audited."""
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="import.rejected_read",
        target_type="import",
        target_id=job.id,
        province_code=job.province_code,
        commune_code=job.commune_code,
    )


def remove_file(settings: Settings, job: ImportJob) -> None:
    """An import's spooled file goes once its rows are stored or refused."""
    file_path(settings, job).unlink(missing_ok=True)


# A spooled file no active import names is an upload whose transaction failed after the file
# was written (or a crash mid-upload): once older than this, no request is still writing it.
STRAY_FILE_SECONDS = 3600


def sweep_stray_files(session: Session, settings: Settings) -> int:
    """Delete spooled files that no queued or running import names; how many went."""
    if not settings.imports_dir.exists():
        return 0
    cutoff = time.time() - STRAY_FILE_SECONDS
    removed = 0
    for path in settings.imports_dir.iterdir():
        try:
            import_id = uuid.UUID(path.name.split(".", 1)[0])
        except ValueError:
            continue
        if path.stat().st_mtime > cutoff:
            continue
        job = session.get(ImportJob, import_id)
        if job is None or job.status not in (ImportStatus.queued, ImportStatus.running):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def estimated_rows(path: Path, file_format: str) -> int | None:
    """About how many data rows a file holds (for a progress bar), read cheaply."""
    if file_format == "csv":
        lines = 0
        with path.open("rb") as stream:
            while block := stream.read(COPY_BLOCK):
                lines += block.count(b"\n")
        return max(lines - 1, 0)
    return None
