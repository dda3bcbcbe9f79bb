"""The floor: a minimal FastAPI app that reads or inserts one row with plain psycopg."""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool


def create_app() -> FastAPI:
    pool = ConnectionPool(os.environ["BENCH_DSN"], min_size=4, max_size=10, open=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open()
        yield
        pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/read/{learner_id}")
    def read(learner_id: uuid.UUID) -> dict[str, object]:
        with pool.connection() as connection:
            row = connection.execute(
                "SELECT id, full_name, commune_code FROM learner WHERE id = %s", (learner_id,)
            ).fetchone()
        return {"id": str(row[0]), "full_name": row[1], "commune_code": row[2]} if row else {}

    @app.post("/write", status_code=201)
    def write(body: dict[str, object]) -> dict[str, object]:
        with pool.connection() as connection:
            connection.execute(
                "INSERT INTO bench_minimal (id, learner_id, score) VALUES (%s, %s, %s)",
                (uuid.uuid4(), body.get("learner_id"), body.get("score")),
            )
        return {"stored": True}

    return app
