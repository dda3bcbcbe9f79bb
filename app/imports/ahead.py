"""Reading and checking an import's next chunks while the current one is being stored.

A thread does it for most files. A large file of learners is read and checked by a process of
its own: checking is pure Python, and a thread would share one core, and the interpreter's
lock, with the storing and with the requests the service answers. The process sends each
checked chunk through a pipe, and stays at most one chunk ahead (it waits to send the next),
so memory stays flat however long the file. It ends with the import, and on its own when
the service's process is gone (its pipe breaks).
"""

import collections
import gc
import itertools
import logging
import multiprocessing
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.accounts.actor import Actor
from app.core.config import Settings
from app.core.context import WriteContext
from app.core.db import make_engine
from app.core.logs import without_message
from app.core.security import PersonalIds
from app.imports import learners, service
from app.imports.columns import layout_for
from app.imports.context import ImportContext, SourceRow
from app.imports.models import ImportKind
from app.imports.readers import FileLimits, FileProblem, open_sheet

logger = logging.getLogger(__name__)

Prepare = Callable[[ImportContext, list[SourceRow]], Any]
Chunk = tuple[list[SourceRow], Any]
# Chunks a thread reads and checks ahead of the one being stored.
AHEAD = 2
# New objects between two looks of the garbage collector at the youngest ones.
GC_YOUNG_THRESHOLD = 10_000


def collect_less_often() -> None:
    """Let the process make more objects between garbage collections than Python's default.

    An import makes objects by the hundred thousand; looking at the youngest every 700 new
    ones (the default), a 100k-row import spent about a tenth of its time collecting.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


@dataclass(frozen=True)
class Source:
    """Where an import's rows come from, and how many at a time (picklable)."""

    path: Path
    file_format: str
    kind: ImportKind
    after_row: int  # rows up to this one are stored already
    chunk_rows: int
    limits: FileLimits


def chunks(source: Source, ctx: ImportContext, prepare: Prepare) -> Generator[Chunk, None, None]:
    """The file's remaining rows, a checked chunk at a time."""
    with open_sheet(source.path, source.file_format, source.limits) as sheet:
        layout = layout_for(source.kind, sheet.header)
        rows = (
            SourceRow(number, layout.fields_of(cells), cells)
            for number, cells in sheet.rows
            if number > source.after_row
        )
        while chunk := list(itertools.islice(rows, source.chunk_rows)):
            yield chunk, prepare(ctx, chunk)


class InThread:
    """Chunks read and checked by one thread, `AHEAD` of the one being stored."""

    def __init__(self, source: Source, ctx: ImportContext, prepare: Prepare) -> None:
        self._chunks = chunks(source, ctx, prepare)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="import-reader")
        self._upcoming: collections.deque[Future[Chunk | None]] = collections.deque(
            self._pool.submit(self._next) for _ in range(AHEAD)
        )

    def _next(self) -> Chunk | None:
        return next(self._chunks, None)

    def next(self) -> Chunk | None:
        """The next checked chunk, None after the last; a problem of the file raises."""
        ready = self._upcoming.popleft().result()
        if ready is not None:
            self._upcoming.append(self._pool.submit(self._next))
        return ready

    def close(self) -> None:
        # Chunks not begun are dropped: closing waits only for the one being checked.
        for future in self._upcoming:
            future.cancel()
        self._pool.shutdown(wait=True)
        self._chunks.close()


@dataclass(frozen=True)
class _Checking:
    """What the checking process needs to check rows as the import's own process would."""

    settings: Settings
    import_id: uuid.UUID
    actor: Actor
    default_commune_code: str | None
    today: date
    old_codes: bool


@dataclass(frozen=True)
class _Failed:
    """The checking process stopped: on a problem of the file (its key), or on an error."""

    key: str | None
    params: dict[str, str]


def _check_apart(source: Source, checking: _Checking, pipe: Connection) -> None:
    """The checking process: every checked chunk into `pipe`, then None."""
    collect_less_often()
    settings = checking.settings
    engine = make_engine(settings.database_url)
    ctx = ImportContext(
        import_id=checking.import_id,
        actor=checking.actor,
        personal_ids=PersonalIds(settings),
        default_commune_code=checking.default_commune_code,
        today=checking.today,
        engine=engine,
        context=WriteContext(settings.adult_age),
        old_codes=checking.old_codes,
        shares_interpreter=False,
    )
    try:
        for chunk in chunks(source, ctx, learners.prepare_chunk):
            pipe.send(chunk)
        pipe.send(None)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import was given up, or its process is gone
    except FileProblem as exc:
        pipe.send(_Failed(exc.key, dict(exc.params)))
    except Exception as exc:
        logger.error("checking import %s failed: %s", checking.import_id, without_message(exc))
        pipe.send(_Failed(None, {}))
    finally:
        pipe.close()
        engine.dispose()


class InProcess:
    """A learners' file read and checked by a process of its own."""

    def __init__(self, source: Source, ctx: ImportContext, settings: Settings) -> None:
        checking = _Checking(
            settings=settings,
            import_id=ctx.import_id,
            actor=ctx.actor,
            default_commune_code=ctx.default_commune_code,
            today=ctx.today,
            old_codes=ctx.old_codes,
        )
        # A new interpreter, not a fork: the service's process runs threads and holds
        # connections that a fork would copy half-way.
        spawn = multiprocessing.get_context("spawn")
        self._pipe, sending = spawn.Pipe(duplex=False)
        self._process = spawn.Process(
            target=_check_apart,
            args=(source, checking, sending),
            name=f"import-check-{ctx.import_id}",
            daemon=True,
        )
        self._process.start()
        sending.close()
        logger.info("import %s: rows checked by process %s", ctx.import_id, self._process.pid)

    def next(self) -> Chunk | None:
        """The next checked chunk, None after the last; a problem of the file raises."""
        try:
            message = self._pipe.recv()
        except EOFError:
            raise RuntimeError("the checking process ended without a word") from None
        if isinstance(message, _Failed):
            if message.key is None:
                raise RuntimeError("the checking process failed")
            raise FileProblem(message.key, **message.params)
        return message  # type: ignore[no-any-return]

    def close(self) -> None:
        self._pipe.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)


Ahead = InThread | InProcess


def ahead_of(source: Source, ctx: ImportContext, prepare: Prepare, settings: Settings) -> Ahead:
    """The thread, or for a large file of learners the process, that checks `source`."""
    threshold = settings.import_process_min_rows
    if source.kind is ImportKind.learners and threshold > 0:
        # Only a CSV file's rows are counted cheaply (its lines).
        rows = service.estimated_rows(source.path, source.file_format)
        if rows is not None and rows - source.after_row >= threshold:
            return InProcess(source, ctx, settings)
    return InThread(source, ctx, prepare)
