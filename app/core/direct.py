"""Statements that need no session: on the event loop over PostgreSQL, in a worker thread
elsewhere.

A unit's indicators and a completion are the busiest requests of all. Handing them to worker
threads and an ORM session cost the service more CPU than their statements cost the database,
so on PostgreSQL they run on an asyncio connection pool of its own. Reads run in autocommit,
several in one round trip, and see the latest commits (as in a READ COMMITTED transaction). A
write that must decide on what it read under a lock (a completion) runs as a `Transaction`: its
reads in one round trip, its write and the COMMIT in a second. Such a request never leaves the
event loop. On SQLite the same reads run in a worker thread.

Only a request that needs no worker thread at all gains: one that reads here and then works in
a thread and a session anyway was measured slower than one that does everything in the thread.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.selectable import TypedReturnsRows

from app.core.db import direct_form, read_bind

APPLICATION_NAME = "hocvuso direct"

Query = tuple[TypedReturnsRows[*tuple[Any, ...]], dict[str, Any]]
Rows = list[tuple[Any, ...]]


class DirectRunner:
    """Runs statements built once (module constants), outside any session: SELECTs of plain
    columns, and on PostgreSQL transactions of such reads and a write."""

    def __init__(self, engine: Engine, *, options: str = "") -> None:
        """`options`: the connections' start-up options (the service's timeouts)."""
        self.engine = engine
        self._pool: AsyncConnectionPool | None = None
        if engine.dialect.name == "postgresql":
            url = engine.url.set(drivername="postgresql")
            self._pool = AsyncConnectionPool(
                url.render_as_string(hide_password=False),
                # A request holds a connection for one round trip only: a few per process
                # suffice, and those left idle for a minute are closed.
                min_size=1,
                max_size=max(2, engine.pool.size() // 2),  # type: ignore[attr-defined]
                max_idle=60,
                # Named, so that pg_stat_activity tells these connections apart.
                kwargs={
                    "autocommit": True,
                    "application_name": APPLICATION_NAME,
                    **({"options": options} if options else {}),
                },
                open=False,
            )

    async def open(self) -> None:
        if self._pool is not None:
            await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def pool_use(self) -> dict[str, int]:
        """The event-loop pool's connections in use, idle, and requests waiting for one."""
        if self._pool is None:
            return {}
        stats = self._pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        return {"in_use": size - idle, "idle": idle, "waiting": stats.get("requests_waiting", 0)}

    @property
    def on_loop(self) -> bool:
        """Whether statements run on the event loop (PostgreSQL), not in a worker thread."""
        return self._pool is not None

    async def run(self, *queries: Query) -> list[Rows]:
        """Each query's rows, in order."""
        return await self._again_if_dropped(queries)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """A transaction on one connection of the pool (event loop only): committed by
        `Transaction.commit`, rolled back if left any other way.

        Unlike `run`, nothing is run again if the connection drops: `psycopg.OperationalError`
        reaches the caller, who should call `dropped` and decide.
        """
        assert self._pool is not None
        async with self._pool.connection() as connection:
            try:
                yield Transaction(self.engine.dialect, connection)
            finally:
                status = connection.info.transaction_status
                if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                    await connection.execute("ROLLBACK")

    async def dropped(self) -> None:
        """After a dropped connection: the pool checks its others and replaces the dead ones."""
        if self._pool is not None:
            await self._pool.check()

    async def _again_if_dropped(self, queries: Sequence[Query]) -> list[Rows]:
        if self._pool is None:
            return await run_in_threadpool(self._run_in_thread, queries)
        try:
            return await self._run_on_loop(queries)
        except psycopg.OperationalError:
            # The server dropped the connection (a restart, an idle timeout), and likely the
            # pool's others with it: the pool checks them all and replaces the dead ones. A
            # read is safe to run again, once.
            await self.dropped()
            return await self._run_on_loop(queries)

    def _run_in_thread(self, queries: Sequence[Query]) -> list[Rows]:
        with read_bind(self.engine).begin() as connection:
            return [
                [tuple(row) for row in connection.execute(statement, parameters)]
                for statement, parameters in queries
            ]

    async def _run_on_loop(self, queries: Sequence[Query]) -> list[Rows]:
        assert self._pool is not None
        async with self._pool.connection() as connection:
            return await _pipelined(connection, self.engine.dialect, queries)


class Transaction:
    """Statements in one transaction, each batch of them in one round trip."""

    def __init__(self, dialect: Dialect, connection: psycopg.AsyncConnection[Any]) -> None:
        self._dialect = dialect
        self._connection = connection
        self._begun = False

    async def run(self, *queries: Query) -> list[Rows]:
        """Each query's rows, in order; the first batch begins the transaction."""
        before = None if self._begun else "BEGIN"
        self._begun = True
        return await _pipelined(self._connection, self._dialect, queries, before=before)

    async def commit(self, query: Query) -> Rows:
        """Run a last statement and commit, in one round trip; its rows."""
        before = None if self._begun else "BEGIN"
        [rows] = await _pipelined(
            self._connection, self._dialect, [query], before=before, after="COMMIT"
        )
        return rows


async def _pipelined(
    connection: psycopg.AsyncConnection[Any],
    dialect: Dialect,
    queries: Sequence[Query],
    *,
    before: str | None = None,
    after: str | None = None,
) -> list[Rows]:
    """Each query's rows, all sent in one round trip (between `before` and `after`, if given)."""
    forms = []
    for statement, parameters in queries:
        form = direct_form(statement, dialect)
        if form is None:
            raise ValueError("a statement with an expanding parameter")
        forms.append((form, form.values(parameters)))
    if len(forms) == 1 and before is None and after is None:
        form, values = forms[0]
        cursor = await connection.execute(form.compiled.string, values)
        return [form.processed(dialect, cursor, await cursor.fetchall())]
    async with connection.pipeline():
        if before is not None:
            await connection.execute(before)
        cursors = [await connection.execute(form.compiled.string, values) for form, values in forms]
        if after is not None:
            await connection.execute(after)
    return [
        form.processed(dialect, cursor, await cursor.fetchall())
        for (form, _), cursor in zip(forms, cursors, strict=True)
    ]


def direct_of(request: Request) -> DirectRunner:
    direct: DirectRunner = request.app.state.direct
    return direct
