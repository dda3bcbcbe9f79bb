"""Engine, sessions and the one-transaction-per-request dependency."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

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


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (the embedded default) or PostgreSQL."""
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
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(database_url, **kwargs)


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


def get_session(request: Request) -> Iterator[Session]:
    """One session and one transaction per request, committed before the response is sent."""
    engine: Engine = request.app.state.engine
    reads_only = request.method in READ_METHODS and not getattr(
        request.state, "writes_on_read", False
    )
    bind = engine if reads_only else write_bind(engine)
    with Session(bind, expire_on_commit=False) as session:
        session.info["adult_age"] = request.app.state.settings.adult_age
        session.info["credential_signer"] = getattr(request.app.state, "credential_signer", None)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
