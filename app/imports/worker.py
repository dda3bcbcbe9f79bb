"""The import worker: stores an import's rows chunk by chunk, and survives crashes.

Unlike request handlers, the worker commits, once per chunk: a chunk's rows, the rejected
rows, the running totals, the audit event and the import's counters go in one transaction.
So a row is reported stored only once it is committed, and an import interrupted anywhere
resumes after its last committed chunk (`last_row`), with nothing stored twice.

A worker claims an import with a lease it renews with every chunk and, on PostgreSQL, a lock
held on a connection of its own; an import whose lock is free, or whose lease ran out (its
worker died), is taken over by the next worker that looks, e.g. after a restart.
"""

import collections
import gc
import itertools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.service import actor_for
from app.core import holds
from app.core.clock import vietnam_today
from app.core.config import Settings
from app.core.context import Signer, WriteContext, bind_context
from app.core.db import utcnow, write_bind
from app.core.logs import without_message
from app.core.security import PersonalIds
from app.imports import baselines, completions, learners, service
from app.imports.columns import layout_for
from app.imports.context import ChunkOutcome, ImportContext, SourceRow, quick_switches
from app.imports.models import CommuneScheme, ImportJob, ImportKind, ImportStatus
from app.imports.readers import FileLimits, FileProblem, open_sheet
from app.sync.idempotency import purge_expired

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Steps:
    """How a kind of import stores a chunk: a part that needs no transaction (`prepare`,
    run for the next chunk while the current one is stored) and the part that writes."""

    prepare: Callable[[ImportContext, list[SourceRow]], Any]
    store: Callable[[Session, ImportContext, Any], ChunkOutcome]


def _as_read(ctx: ImportContext, rows: list[SourceRow]) -> list[SourceRow]:
    return rows


STEPS: dict[ImportKind, Steps] = {
    ImportKind.learners: Steps(learners.prepare_chunk, learners.store_prepared),
    ImportKind.completions: Steps(_as_read, completions.store_chunk),
    ImportKind.baselines: Steps(_as_read, baselines.store_chunk),
}
# Chunks read and checked ahead of the one being stored.
AHEAD = 2
ACTIVE = (ImportStatus.queued.value, ImportStatus.running.value)
PURGE_EVERY = 3600.0


# New objects between two looks of the garbage collector at the youngest ones.
GC_YOUNG_THRESHOLD = 10_000


def collect_less_often() -> None:
    """Let the process make more objects between garbage collections than Python's default.

    An import makes objects by the hundred thousand; looking at the youngest every 700 new
    ones (the default), a 100k-row import spent about a tenth of its time collecting.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def worker_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim_next(
    engine: Engine,
    *,
    owner: str,
    lease: timedelta,
    imports_dir: Path,
    holder: holds.Holder | None = None,
) -> uuid.UUID | None:
    """Claim the oldest import nobody is working on (queued, or its worker is gone).

    With a `holder` on PostgreSQL, the import's lock is taken on the holder's connection and
    held while the worker stores it: an import whose lock is free has no live worker and is
    taken over at once (its worker's process died, and its connection with it). The lease is
    the backstop, and all there is on SQLite: an import whose lease ran out is taken over.
    Only imports whose spooled file this worker can see: several machines may share a
    database without sharing IMPORTS_DIR.
    """
    now = utcnow()
    free = or_(col(ImportJob.lease_until).is_(None), col(ImportJob.lease_until) < now)
    locking = holder is not None and holder.supported
    with Session(engine) as session:
        candidates = session.exec(
            select(ImportJob.id, ImportJob.file_format)
            .where(col(ImportJob.status).in_(ACTIVE), *([] if locking else [free]))
            .order_by(col(ImportJob.created_at))
            .limit(50)
        ).all()
    for import_id, file_format in candidates:
        if not (imports_dir / f"{import_id}.{file_format}").exists():
            continue
        lock = holds.key(holds.IMPORT, import_id)
        held = locking and holder is not None and holder.take(lock)
        with Session(write_bind(engine)) as session:
            claimed = session.execute(
                update(ImportJob)
                .where(
                    col(ImportJob.id) == import_id,
                    col(ImportJob.status).in_(ACTIVE),
                    *([] if held else [free]),
                )
                .values(
                    status=ImportStatus.running.value,
                    lease_owner=owner,
                    lease_until=now + lease,
                    started_at=func.coalesce(col(ImportJob.started_at), now),
                )
            )
            session.commit()
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return import_id
        if held and holder is not None:
            holder.give_up(lock)
    return None


def run_import(
    engine: Engine,
    *,
    settings: Settings,
    personal_ids: PersonalIds,
    import_id: uuid.UUID,
    owner: str,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[ImportJob], None] | None = None,
    credential_signer: Signer | None = None,
) -> ImportJob:
    """Store the claimed import's remaining rows, a committed chunk at a time."""
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(ImportJob, import_id)
        assert job is not None
        user = session.get(User, job.created_by_id)
    if user is None or not user.is_active:
        return _finish(engine, settings, job, owner, "import.uploader_inactive")
    path = service.file_path(settings, job)
    if not path.exists():
        return _finish(engine, settings, job, owner, "import.file_missing")
    ctx = ImportContext(
        import_id=job.id,
        actor=actor_for(user),
        personal_ids=personal_ids,
        default_commune_code=job.default_commune_code,
        today=vietnam_today(),
        engine=engine,
        context=WriteContext(settings.adult_age, credential_signer),
        old_codes=job.commune_scheme == CommuneScheme.legacy,
    )
    steps = STEPS[ImportKind(job.kind)]
    try:
        with (
            quick_switches(),
            open_sheet(path, job.file_format, FileLimits.of(settings)) as sheet,
            ThreadPoolExecutor(1) as reader,
        ):
            layout = layout_for(ImportKind(job.kind), sheet.header)
            rows = (
                SourceRow(number, layout.fields_of(cells), cells)
                for number, cells in sheet.rows
                if number > job.last_row
            )

            def next_chunk() -> tuple[list[SourceRow], Any] | None:
                chunk = list(itertools.islice(rows, settings.import_chunk_rows))
                return (chunk, steps.prepare(ctx, chunk)) if chunk else None

            # One thread reads and checks the next chunks while this one is being stored.
            upcoming = collections.deque(reader.submit(next_chunk) for _ in range(AHEAD))
            while (ready := upcoming.popleft().result()) is not None:
                if should_stop():
                    _cancel(upcoming)
                    return _release(engine, job, owner)
                upcoming.append(reader.submit(next_chunk))
                chunk, prepared = ready
                stored = _stored_again_if_it_fails(
                    job,
                    chunk,
                    partial(
                        _store_chunk, engine, settings, job, owner, steps, ctx, chunk, prepared
                    ),
                )
                if stored is None:
                    logger.warning("import %s was taken over by another worker", job.id)
                    _cancel(upcoming)
                    return job
                job = stored
                if on_progress is not None:
                    on_progress(job)
                if job.rows_rejected > settings.import_max_rejected_rows:
                    # A file this wrong is not the list it claims to be: stop storing its
                    # refusals (the rows stored so far stay, and a corrected file skips them).
                    _cancel(upcoming)
                    return _finish(engine, settings, job, owner, "import.too_many_rejected")
    except FileProblem as exc:
        return _finish(engine, settings, job, owner, exc.key)
    except Exception as exc:
        logger.error("import %s stopped on an unexpected error: %s", job.id, without_message(exc))
        return _finish(engine, settings, job, owner, "import.internal")
    return _finish(engine, settings, job, owner, None)


def _cancel(upcoming: collections.deque[Future[Any]]) -> None:
    # Chunks not begun are dropped: leaving waits only for the one being checked.
    for future in upcoming:
        future.cancel()


# A chunk whose transaction fails on the database's side (a deadlock, a serialization
# failure, a dropped connection) is stored again from the start, up to this many times in all.
CHUNK_ATTEMPTS = 3
_PASSING = (OperationalError, psycopg.OperationalError)


def _stored_again_if_it_fails(
    job: ImportJob, chunk: list[SourceRow], store: Callable[[], ImportJob | None]
) -> ImportJob | None:
    """`store` (a chunk's transaction, all or nothing) run again when the database fails it in
    a way that may pass, rather than the import ending halfway."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            return store()
        except _PASSING as exc:
            if attempt == CHUNK_ATTEMPTS:
                raise
            logger.warning(
                "import %s: the chunk from row %s failed (%s); storing it again",
                job.id,
                chunk[0].number,
                type(exc.orig if isinstance(exc, OperationalError) else exc).__name__,
            )
            time.sleep(random.uniform(0.1, 0.5) * attempt)  # noqa: S311
    raise AssertionError("unreachable")


def _store_chunk(
    engine: Engine,
    settings: Settings,
    job: ImportJob,
    owner: str,
    steps: Steps,
    ctx: ImportContext,
    chunk: list[SourceRow],
    prepared: Any,
) -> ImportJob | None:
    """One chunk, committed with the import's counters; None if the lease was lost."""
    lease = timedelta(seconds=settings.import_lease_seconds)
    with Session(write_bind(engine), expire_on_commit=False) as session:
        bind_context(session, ctx.context)
        outcome = steps.store(session, ctx, prepared)
        service.save_rejections(
            session,
            job,
            outcome.rejected,
            {row.number: row.cells for row in chunk},
            ctx.personal_ids,
        )
        values: dict[str, Any] = {
            "rows_read": job.rows_read + len(chunk),
            "rows_stored": job.rows_stored + outcome.stored,
            "rows_duplicate": job.rows_duplicate + outcome.duplicate,
            "rows_rejected": job.rows_rejected + len(outcome.rejected),
            "last_row": chunk[-1].number,
            "lease_until": utcnow() + lease,
        }
        # Only the lease holder moves the counters, and only from where it last left them.
        moved = session.execute(
            update(ImportJob)
            .where(
                col(ImportJob.id) == job.id,
                col(ImportJob.lease_owner) == owner,
                col(ImportJob.last_row) == job.last_row,
            )
            .values(**values)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        session.commit()
    return job.model_copy(update=values)


def _finish(
    engine: Engine, settings: Settings, job: ImportJob, owner: str, failure: str | None
) -> ImportJob:
    status = ImportStatus.failed if failure else ImportStatus.done
    values: dict[str, Any] = {
        "status": status.value,
        "failure": failure,
        "finished_at": utcnow(),
        "lease_owner": None,
        "lease_until": None,
    }
    with Session(write_bind(engine)) as session:
        moved = session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job.id, col(ImportJob.lease_owner) == owner)
            .values(**values)
        )
        session.commit()
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        service.remove_file(settings, job)
        return job.model_copy(update=values)
    return job


def _release(engine: Engine, job: ImportJob, owner: str) -> ImportJob:
    """Give the import up (the service is stopping): the next worker resumes it at once."""
    with Session(write_bind(engine)) as session:
        session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job.id, col(ImportJob.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )
        session.commit()
    return job


class ImportWorker:
    """A background thread of the service that works through queued imports."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        personal_ids: PersonalIds,
        credential_signer: Signer | None = None,
    ) -> None:
        self.engine = engine
        self.credential_signer = credential_signer
        self.settings = settings
        self.personal_ids = personal_ids
        self.owner = worker_name("worker")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="import-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (called once an upload is committed)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        lease = timedelta(seconds=self.settings.import_lease_seconds)
        next_purge = time.monotonic() + 60
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_purge:
                    self._purge()
                    next_purge = time.monotonic() + PURGE_EVERY
                # The import's lock lives on this connection while the import is stored.
                with holds.holder(self.engine) as holder:
                    import_id = claim_next(
                        self.engine,
                        owner=self.owner,
                        lease=lease,
                        imports_dir=self.settings.imports_dir,
                        holder=holder,
                    )
                    if import_id is not None:
                        run_import(
                            self.engine,
                            settings=self.settings,
                            personal_ids=self.personal_ids,
                            credential_signer=self.credential_signer,
                            import_id=import_id,
                            owner=self.owner,
                            should_stop=self._stop.is_set,
                        )
                if import_id is not None:
                    continue
            except Exception as exc:
                logger.error("import worker step failed: %s", without_message(exc))
            self._wake.wait(self.settings.import_poll_seconds)
            self._wake.clear()

    def _purge(self) -> None:
        with Session(write_bind(self.engine)) as session:
            purged = purge_expired(session)
            session.commit()
        if purged:
            logger.info("purged %d expired idempotency keys", purged)
        with Session(self.engine) as session:
            swept = service.sweep_stray_files(session, self.settings)
        if swept:
            logger.info("deleted %d spooled files no import names", swept)
