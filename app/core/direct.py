"""Statements that need no session: on the event loop over PostgreSQL, in a worker thread
elsewhere.

A unit's indicators and a completion are the busiest requests of all. Handing them to worker
threads and an ORM session cost the service more CPU than their statements cost the database,
so on PostgreSQL they run on an asyncio connection pool of its own, in autocommit: reads see
the latest commits (as in a READ COMMITTED transaction), several in one round trip, and a write
is one statement, atomic by itself. Such a request never leaves the event loop. On SQLite the
same statements run in a worker thread.

Only a request that needs no worker thread at all gains: one that reads here and then works in
a thread and a session anyway was measured slower than one that does everything in the thread.
"""

from collections.abc import Sequence
from typing import Any

import psycopg
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import TypedReturnsRows

from app.core.db import direct_form, read_bind, write_bind

APPLICATION_NAME = "hocvuso direct"

Query = tuple[TypedReturnsRows[*tuple[Any, ...]], dict[str, Any]]
Rows = list[tuple[Any, ...]]


class Direct:
    """Runs statements built once (module constants), outside any session: SELECTs of plain
    columns, and single-statement writes."""

    def __init__(self, engine: Engine) -> None:
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
                kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
                open=False,
            )

    async def open(self) -> None:
        if self._pool is not None:
            await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @property
    def on_loop(self) -> bool:
        """Whether statements run on the event loop (PostgreSQL), not in a worker thread."""
        return self._pool is not None

    async def run(self, *queries: Query) -> list[Rows]:
        """Each query's rows, in order."""
        return await self._again_if_dropped(queries, read_bind(self.engine))

    async def write(self, query: Query) -> Rows:
        """One statement that writes, committed on its own; its RETURNING rows.

        It may run twice if the connection drops (see `run`): give only a statement whose
        second run changes nothing once the first one committed.
        """
        [rows] = await self._again_if_dropped([query], write_bind(self.engine))
        return rows

    async def _again_if_dropped(self, queries: Sequence[Query], bind: Engine) -> list[Rows]:
        if self._pool is None:
            return await run_in_threadpool(self._run_in_thread, queries, bind)
        try:
            return await self._run_on_loop(queries)
        except psycopg.OperationalError:
            # The server dropped the connection (a restart, an idle timeout), and likely the
            # pool's others with it: the pool checks them all and replaces the dead ones. A
            # read is safe to run again, once; so is a write that changes nothing the second
            # time.
            await self._pool.check()
            return await self._run_on_loop(queries)

    def _run_in_thread(self, queries: Sequence[Query], bind: Engine) -> list[Rows]:
        with bind.begin() as connection:
            return [
                [tuple(row) for row in connection.execute(statement, parameters)]
                for statement, parameters in queries
            ]

    async def _run_on_loop(self, queries: Sequence[Query]) -> list[Rows]:
        assert self._pool is not None
        dialect = self.engine.dialect
        forms = []
        for statement, parameters in queries:
            form = direct_form(statement, dialect)
            if form is None:
                raise ValueError("a statement with an expanding parameter")
            forms.append((form, form.values(parameters)))
        async with self._pool.connection() as connection:
            if len(forms) == 1:
                form, values = forms[0]
                cursor = await connection.execute(form.compiled.string, values)
                return [form.processed(dialect, cursor, await cursor.fetchall())]
            async with connection.pipeline():
                cursors = [
                    await connection.execute(form.compiled.string, values) for form, values in forms
                ]
            return [
                form.processed(dialect, cursor, await cursor.fetchall())
                for (form, _), cursor in zip(forms, cursors, strict=True)
            ]


def direct_of(request: Request) -> Direct:
    direct: Direct = request.app.state.direct
    return direct
