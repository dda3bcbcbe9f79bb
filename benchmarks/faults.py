"""How fast the service fails, and comes back, under database faults (PostgreSQL).

    python -m benchmarks.faults [--server postgresql://postgres@127.0.0.1:5432/postgres] [--runs 5]

Creates a database of its own (migrated and seeded), serves the app in-process and measures:

* a write to a row another transaction holds: time until it answers 503 (the default
  `DATABASE_LOCK_TIMEOUT_MS`, 5 s);
* a phone's sync batch whose request died holding its `Idempotency-Key` (its connection ended
  by the server): time from the connection's end until the retry is answered 200.

Prints the median and the range of the runs. The database is dropped at the end.
"""

import argparse
import statistics
import threading
import time
import uuid
from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords
from app.main import create_app
from app.seed import seed_all
from app.sync import service as sync_service

COMMUNE = "00070"
PASSWORD = "mat-khau-do-dai-du-12"
SECRETS = {"secret_key": "bench-only-secret-key-" + "s" * 32, "pii_key": "bench-pii-" + "p" * 32}


def citizen_id(serial: int) -> str:
    return f"001085{serial:06d}"


def learner(serial: int) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "citizen_id": citizen_id(serial),
        "full_name": "Trần Thị Hoa",
        "birth_date": date(1985, 4, 12).isoformat(),
        "sex": "male",
        "commune_code": COMMUNE,
        "groups": ["citizen"],
        "consent": {
            "purpose": "Theo dõi kết quả học kỹ năng số",
            "given_at": "2026-03-01T02:00:00+00:00",
        },
    }


def median_and_range(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"
    )


def held_row_until_503(client: TestClient, headers: dict[str, str], url: str, serial: int) -> float:
    created = client.post("/api/v1/learners", json=learner(serial), headers=headers)
    assert created.status_code == 201, created.text
    learner_id = created.json()["id"]
    engine = make_engine(url, pool_size=1)
    with engine.connect() as holder:
        holder.execute(
            text("SELECT id FROM learner WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(learner_id)}
        )
        started = time.perf_counter()
        answer = client.patch(
            f"/api/v1/learners/{learner_id}", json={"full_name": "Tên Mới"}, headers=headers
        )
        elapsed = time.perf_counter() - started
        holder.rollback()
    engine.dispose()
    assert answer.status_code == 503, answer.text
    return elapsed


def died_batch_until_retried(
    client: TestClient, headers: dict[str, str], url: str, serial: int
) -> float:
    key = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"learners": [learner(serial + n) for n in range(50)]}
    entered, resume = threading.Event(), threading.Event()
    real = sync_service.sync

    def hangs_once(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            resume.wait(300)
        return real(*args, **kwargs)

    sync_service.sync = hangs_once  # type: ignore[assignment]
    first = threading.Thread(target=lambda: client.post("/api/v1/sync", json=body, headers=key))
    first.start()
    try:
        entered.wait(60)
        engine = make_engine(url, pool_size=1)
        with engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND state LIKE 'idle in transaction%' "
                    "AND pid <> pg_backend_pid()"
                )
            )
            ended = time.perf_counter()
        engine.dispose()
        while True:
            answer = client.post("/api/v1/sync", json=body, headers=key)
            if answer.status_code != 409:
                break
            time.sleep(float(answer.headers.get("retry-after", "1")))
        elapsed = time.perf_counter() - ended
        assert answer.status_code == 200, answer.text
    finally:
        sync_service.sync = real  # type: ignore[assignment]
        resume.set()
        first.join()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    name = f"hocvuso_bench_faults_{uuid.uuid4().hex[:8]}"
    server = make_url(options.server).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_to_head(url)
        settings = Settings(
            environment="test",
            database_url=url,
            delivery_worker=False,
            recount_worker=False,
            password_hash_time_cost=1,
            password_hash_memory_kib=64,
            **SECRETS,  # type: ignore[arg-type]
            _env_file=None,  # type: ignore[call-arg]
        )
        engine = make_engine(url)
        with Session(engine) as session:
            seed_all(session, settings=settings)
            accounts.create_user(
                session,
                actor=None,
                passwords=Passwords(settings),
                data=UserCreate(
                    username="member",
                    password=PASSWORD,
                    full_name="Cán bộ xã",
                    role=Role.commune_admin,
                    commune_code=COMMUNE,
                ),
            )
            session.commit()
        engine.dispose()
        app = create_app(settings)
        app.state.http_transport = httpx.ASGITransport(app=app)
        with TestClient(app) as client:
            token = client.post(
                "/api/v1/auth/token", data={"username": "member", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            held = [held_row_until_503(client, headers, url, n) for n in range(1, options.runs + 1)]
            died = [
                died_batch_until_retried(client, headers, url, 1000 + 100 * n)
                for n in range(options.runs)
            ]
        print(f"write to a held row, until 503: {median_and_range(held)}")
        print(
            f"sync batch whose request died, until its retry is answered: {median_and_range(died)}"
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
