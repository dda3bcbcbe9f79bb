"""`hocvuso import`: an import from a file on disk, through the same code path as uploads."""

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import User
from app.accounts.service import actor_for
from app.core import holds
from app.core.config import Settings
from app.core.db import make_engine, write_bind
from app.core.errors import DomainError
from app.core.i18n import translate
from app.core.security import PersonalIds
from app.imports import service
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.imports.worker import collect_less_often, run_import, worker_name


def import_file(path: Path, *, kind: ImportKind, username: str, commune_code: str | None) -> int:
    """Import `path` as `username` would upload it, showing progress; the exit code."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    owner = worker_name("cli")
    collect_less_often()
    # Holds the import's lock while it is stored here, so no worker of a service takes it.
    holder = holds.Holder(engine)
    try:
        with Session(write_bind(engine), expire_on_commit=False) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None or not user.is_active:
                typer.echo(f"error: no active user named {username!r}", err=True)
                return 1
            with path.open("rb") as upload:
                job = service.create_import(
                    session,
                    actor=actor_for(user),
                    settings=settings,
                    kind=kind,
                    upload=upload,
                    file_name=path.name,
                    default_commune_code=commune_code,
                    lease_owner=owner,
                )
            holder.take(holds.key(holds.IMPORT, job.id))  # before any worker can see it
            session.commit()
        done = _run_with_progress(engine, settings, job, owner)
    except DomainError as exc:
        typer.echo(f"error: {_message(exc)}", err=True)
        return 1
    finally:
        holder.close()
        engine.dispose()
    typer.echo(
        f"import {done.id}: {done.status} — read {done.rows_read}, stored {done.rows_stored}, "
        f"already there {done.rows_duplicate}, rejected {done.rows_rejected}"
    )
    if done.failure:
        typer.echo(f"stopped: {translate(done.failure, 'en')}", err=True)
    if done.rows_rejected:
        typer.echo(f"rejected rows: GET /api/v1/imports/{done.id}/rejected.csv (or .xlsx)")
    return 0 if done.status == ImportStatus.done.value else 1


def _run_with_progress(engine: Engine, settings: Settings, job: ImportJob, owner: str) -> ImportJob:
    total = service.estimated_rows(service.file_path(settings, job), job.file_format)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("stored {task.fields[stored]} · rejected {task.fields[rejected]}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task(job.file_name, total=total, stored=0, rejected=0)

        def advance(current: ImportJob) -> None:
            progress.update(
                task,
                completed=current.rows_read,
                stored=current.rows_stored,
                rejected=current.rows_rejected,
            )

        done = run_import(
            engine,
            settings=settings,
            personal_ids=PersonalIds(settings),
            import_id=job.id,
            owner=owner,
            on_progress=advance,
        )
        progress.update(task, total=done.rows_read, completed=done.rows_read)
    return done


def _message(exc: DomainError) -> str:
    detail = translate(exc.detail_key or exc.title_key, "en", **exc.params)
    fields = "; ".join(
        translate(str(e.get("type")), "en", **(e.get("params") or {})) for e in exc.errors
    )
    return f"{detail} {fields}".strip()
