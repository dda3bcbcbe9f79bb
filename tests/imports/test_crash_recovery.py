"""The real server, killed with SIGKILL in the middle of an import and of a sync, then started
again: every record it acknowledged is there exactly once, and re-sending finishes the job.

Runs on both databases (through `database_url`); the files are sized so the kill lands
mid-way while the test stays short.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine
from app.core.security import Passwords
from app.learners.models import Learner
from app.sync.models import IdempotencyKey
from tests.conftest import TEST_SECRETS
from tests.factories import HN_HOAN_KIEM, PASSWORD, citizen_id_for, learner_payload
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes

pytestmark = pytest.mark.long

ROOT = Path(__file__).resolve().parents[2]
IMPORT_ROWS = 12_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`uvicorn app.main:app` in a process of its own, on the test's database."""

    def __init__(self, database_url: str, spool: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "test",
            "IMPORTS_DIR": str(spool),
            "IMPORT_CHUNK_ROWS": "300",
            "IMPORT_LEASE_SECONDS": "1",
            "IMPORT_POLL_SECONDS": "0.2",
            "IDEMPOTENCY_LOCK_SECONDS": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, "the server exited"
            time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def login(self, username: str) -> dict[str, str]:
        response = httpx.post(
            self.url + "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    settings = Settings(
        database_url=database_url,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
        **TEST_SECRETS,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(database_url)
    with Session(engine) as session:
        accounts.create_user(
            session,
            actor=None,
            passwords=Passwords(settings),
            data=UserCreate(
                username="hk_admin",
                password=PASSWORD,
                full_name="Cán bộ xã",
                role=Role.commune_admin,
                commune_code=HN_HOAN_KIEM,
            ),
        )
        session.commit()
    engine.dispose()
    running = Server(database_url, tmp_path / "spool")
    running.start()
    yield running
    running.stop()


def _count(database_url: str, statement: Any) -> int:
    engine = make_engine(database_url)
    with Session(engine) as session:
        value = int(session.exec(statement).one())
    engine.dispose()
    return value


def _learners(database_url: str) -> int:
    return _count(database_url, select(func.count()).select_from(Learner))


def _import_status(server: Server, headers: dict[str, str], import_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/imports/{import_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_import_killed_midway_resumes_and_stores_each_row_once(
    server: Server, database_url: str
) -> None:
    headers = server.login("hk_admin")
    rows = [
        [
            citizen_id_for(date(1980, 1, 1), "female", serial=n),
            "Vũ Thị Lan",
            "01/01/1980",
            "Nữ",
            HN_HOAN_KIEM,
            "Người dân",
            "01/03/2026",
        ]
        for n in range(1, IMPORT_ROWS + 1)
    ]
    content = csv_bytes(LEARNER_HEADER_VI, rows, delimiter=";", bom=True)
    files = {"file": ("lon.csv", content)}
    response = httpx.post(
        f"{server.url}/api/v1/imports", data={"kind": "learners"}, files=files, headers=headers
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]

    acknowledged = 0
    for _ in range(3000):
        status = _import_status(server, headers, import_id)
        if status["rows_stored"] > 0:
            acknowledged = status["rows_stored"]
            break
        time.sleep(0.01)
    assert 0 < acknowledged < IMPORT_ROWS, "the import should be caught mid-way"
    server.kill()
    # Everything reported stored before the kill is in the database.
    assert _learners(database_url) >= acknowledged

    server.start()  # resumes the import once its dead worker's lease has run out
    for _ in range(1200):
        status = _import_status(server, headers, import_id)
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "done"
    assert (status["rows_read"], status["rows_stored"]) == (IMPORT_ROWS, IMPORT_ROWS)
    assert (status["rows_duplicate"], status["rows_rejected"]) == (0, 0)
    assert _learners(database_url) == IMPORT_ROWS

    # Sent again in full: every row is already there.
    again = httpx.post(
        f"{server.url}/api/v1/imports", data={"kind": "learners"}, files=files, headers=headers
    )
    second = again.json()["id"]
    for _ in range(1200):
        status = _import_status(server, headers, second)
        if status["status"] == "done":
            break
        time.sleep(0.1)
    assert (status["rows_stored"], status["rows_duplicate"]) == (0, IMPORT_ROWS)
    assert _learners(database_url) == IMPORT_ROWS


def _batch(start: int, size: int) -> dict[str, Any]:
    learners = []
    for n in range(start, start + size):
        record = learner_payload(HN_HOAN_KIEM, serial=n)
        record["client_id"] = str(uuid.uuid4())
        learners.append(record)
    return {"learners": learners}


def test_a_sync_killed_midway_loses_nothing_acknowledged(server: Server, database_url: str) -> None:
    headers = server.login("hk_admin")
    sync = server.url + "/api/v1/sync"
    first = _batch(1, 50)
    acknowledged = httpx.post(sync, json=first, headers={**headers, "Idempotency-Key": "a"})
    assert acknowledged.status_code == 200

    second = _batch(1000, 1000)
    key = {**headers, "Idempotency-Key": "b"}
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = httpx.post(sync, json=second, headers=key, timeout=120)
        except httpx.TransportError as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    # Kill once the request has claimed its key, i.e. while it stores the records: on
    # PostgreSQL the claim is a lock held by the request's transaction, elsewhere a row.
    claimed: Any = select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "b")
    if database_url.startswith("postgresql"):
        claimed = (
            select(func.count())
            .select_from(text("pg_locks"))
            .where(
                text(
                    "locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        )
    for _ in range(3000):
        if _count(database_url, claimed):
            break
        time.sleep(0.01)
    server.kill()
    sender.join(timeout=60)
    assert "error" in outcome, "the batch was answered before the kill"

    ids = [r["id"] for r in acknowledged.json()["results"]]
    assert _learners(database_url) == 50  # the unanswered batch left nothing half-done
    server.start()
    # The dead request's claim is given up at once on PostgreSQL (its lock went with its
    # connection), after IDEMPOTENCY_LOCK_SECONDS on SQLite; until then, 409.
    for _ in range(200):
        retried = httpx.post(sync, json=second, headers=key, timeout=120)
        if retried.status_code != 409:
            break
        time.sleep(0.2)
    assert retried.status_code == 200
    assert {r["status"] for r in retried.json()["results"]} == {"created"}
    replay = httpx.post(sync, json=second, headers=key, timeout=120)
    assert replay.json() == retried.json()
    resent = httpx.post(sync, json=first, headers={**headers, "Idempotency-Key": "a"})
    assert [r["id"] for r in resent.json()["results"]] == ids
    assert _learners(database_url) == 1050
