"""Engine, sessions and the one-transaction-per-request dependency."""

import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, TypeVarTuple, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlmodel import Session, SQLModel, create_engine

from app.core.context import WriteContext, bind_context

# Stable constraint names, so Alembic can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, emit BEGIN: savepoints then work, and writers can
    # take the write lock up front (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once; FULL sync keeps an answered write on disk.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write request begins IMMEDIATE: it waits its turn for the lock instead of failing
    # with "database is locked" when it upgrades from reading to writing.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def session_options(*, lock_timeout_ms: int | None, statement_timeout_ms: int | None) -> str:
    """PostgreSQL's start-up `options` that set the service's timeouts on a connection.

    Sent with the connection itself, so they cost no round trip and hold on every connection
    of every pool (SQLAlchemy's and the event loop's).
    """
    settings = {"lock_timeout": lock_timeout_ms, "statement_timeout": statement_timeout_ms}
    return " ".join(f"-c {name}={value}" for name, value in settings.items() if value is not None)


def make_engine(
    database_url: str,
    *,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for SQLite (the embedded default) or PostgreSQL.

    The timeouts apply on PostgreSQL only; the service sets them, console commands that may
    run long (a rebuild, a migration) leave them unset.
    """
    # A database error's message then carries the statement but none of its values.
    kwargs.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    options = session_options(
        lock_timeout_ms=lock_timeout_ms, statement_timeout_ms=statement_timeout_ms
    )
    if options:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "options": options}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(database_url, **kwargs)


_Ts = TypeVarTuple("_Ts")


def read_columns[*Ts](
    session: Session, statement: TypedReturnsRows[*Ts], parameters: dict[str, Any]
) -> list[tuple[*Ts]]:
    """The rows of a SELECT of plain columns, run on the session's connection.

    For small reads on hot paths, where SQLAlchemy's execution costs several times what the
    statement does. On PostgreSQL the statement is compiled once and run on the driver's
    cursor, with the columns' result processing applied; elsewhere, and for statements with
    expanding parameters, it runs through SQLAlchemy Core. Pending changes are flushed first,
    as the ORM would. Pass statements built once (module constants).
    """
    if session.autoflush:
        session.flush()
    connection = session.connection()
    direct = direct_form(statement, connection.dialect)
    if direct is None:
        return [cast(tuple[*Ts], tuple(row)) for row in connection.execute(statement, parameters)]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(direct.compiled.string, direct.values(parameters))
        rows = cursor.fetchall()
        return cast(list[tuple[*Ts]], direct.processed(connection.dialect, cursor, rows))
    finally:
        cursor.close()


@dataclass
class _DirectForm:
    statement: Any
    compiled: Any  # None when SQLAlchemy must render the statement per call
    processors: list[Any] | None = None

    def values(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """The parameters as the driver takes them, with the columns' bind processing."""
        values: dict[str, Any] = self.compiled.construct_params(parameters)
        for name, process in self.compiled._bind_processors.items():
            if name in values:
                values[name] = process(values[name])
        return values

    def processed(self, dialect: Any, cursor: Any, rows: Sequence[Any]) -> list[Any]:
        """The driver's rows with the columns' result processing applied.

        The cursor's description is read once per statement: building it costs more than
        the rows of a small read.
        """
        if self.processors is None:
            self.processors = [
                column.type._cached_result_processor(dialect, described[1])
                for column, described in zip(
                    self.compiled._result_columns, cursor.description, strict=True
                )
            ]
        processors = self.processors
        if not any(processors):
            return list(rows)
        return [
            tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in rows
        ]


_DIRECT: dict[int, _DirectForm] = {}


def direct_form(statement: Any, dialect: Any) -> _DirectForm | None:
    """The statement compiled once for PostgreSQL, or None where Core must run it."""
    if dialect.name != "postgresql":
        return None
    form = _DIRECT.get(id(statement))
    if form is None or form.statement is not statement:
        compiled = statement.compile(dialect=dialect)
        # Expanding parameters (`IN` lists) are rendered per call: SQLAlchemy runs those.
        form = _DirectForm(statement, None if compiled.post_compile_params else compiled)
        _DIRECT[id(statement)] = form
    return None if form.compiled is None else form


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def write_bind(engine: Engine) -> Engine:
    """The engine to use for a transaction that will write."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def writes_on_read(request: Request) -> None:
    """Mark a GET route that writes (an audit event of the read) before its session opens.

    On SQLite a read transaction that later writes fails at once if another writer committed
    meanwhile; such a route takes the write lock up front instead, like any write.
    """
    request.state.writes_on_read = True


WritesOnRead = Depends(writes_on_read)


def read_bind(engine: Engine) -> Engine:
    """The engine for a transaction that only reads.

    On PostgreSQL it runs in autocommit: each statement sees the latest committed data, as it
    would in a READ COMMITTED transaction, and ending the request needs no round trip.
    """
    if engine.dialect.name != "postgresql":
        return engine
    bind = _READ_BINDS.get(engine)
    if bind is None:
        bind = _READ_BINDS[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return bind


_READ_BINDS: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()


def _commit(session: Session) -> None:
    with session:
        session.commit()


def _discard(session: Session) -> None:
    with session:
        session.rollback()


def request_session(request: Request) -> Session:
    """The request's session: in autocommit for a read on PostgreSQL, else in a transaction."""
    engine: Engine = request.app.state.engine
    reads_only = request.method in READ_METHODS and not getattr(
        request.state, "writes_on_read", False
    )
    bind = read_bind(engine) if reads_only else write_bind(engine)
    session = Session(bind, expire_on_commit=False)
    signer = getattr(request.app.state, "credential_signer", None)
    return bind_context(session, WriteContext(request.app.state.settings.adult_age, signer))


_T = TypeVar("_T")


async def in_one_thread[T](request: Request, work: Callable[[Session], T]) -> T:
    """`work` in the request's session, then the commit, in one worker thread: for a route
    that does no I/O before it, one hand-over instead of one per dependency and one to commit.
    """

    def run() -> T:
        with request_session(request) as session:  # rolls back unless committed
            result = work(session)
            session.commit()
            return result

    return await run_in_threadpool(run)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session and one transaction per request, committed before the response is sent.

    Opening a session does no I/O, so this runs on the event loop; only ending a transaction
    that may have written waits in a worker thread (a read in autocommit ends without one).
    """
    session = request_session(request)
    bind = session.get_bind()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_discard, session)
        raise
    if bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        session.close()
    else:
        await run_in_threadpool(_commit, session)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
