"""Start-up that cannot half-fail, and workers that end with their master.

Workers starting at once on an empty database all come up; a worker whose start-up fails
exits (and with it `hocvuso serve`) instead of holding the port and serving nothing; workers
whose master was killed stop.
"""

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, col, func, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core import supervision
from app.core.config import Settings
from app.main import create_app

pytestmark = pytest.mark.long

# Bounds on waiting for a process: start-up takes a few seconds on a busy machine.
START_SECONDS = 90.0
END_SECONDS = 60.0


def test_workers_starting_at_once_both_come_up_with_one_admin(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = settings.model_copy(
        update={"admin_username": "quantri", "admin_password": SecretStr("mat-khau-du-dai-123")}
    )
    real = accounts.create_user
    arrived = threading.Barrier(2, timeout=5)

    def create_user_slowly(*args: Any, **kwargs: Any) -> User:
        user = real(*args, **kwargs)
        # The first to create the admin waits, uncommitted, for the other to start too.
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()
        return user

    monkeypatch.setattr(accounts, "create_user", create_user_slowly)
    started: list[str] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            with TestClient(create_app(configured)) as client:
                assert client.get("/healthz").status_code == 200
                started.append("up")
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=start) for _ in range(2)]
    for worker in workers:
        worker.start()
    # The second worker arrives at the barrier only if it, too, found no admin: give it the
    # time to, then let the first go on.
    time.sleep(1.0)
    arrived.abort()
    for worker in workers:
        worker.join(START_SECONDS)
    assert failures == []
    assert started == ["up", "up"]
    admins = session.exec(
        select(func.count()).select_from(User).where(User.role == Role.national_admin.value)
    ).one()
    named = session.exec(select(User.id).where(col(User.username) == "quantri")).all()
    assert len(named) == 1
    assert admins == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux's /proc to find the worker processes")
    return [int(child) for child in path.read_text().split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Starts `hocvuso serve --workers 2` on this test's database; ends what is left."""
    started: list[subprocess.Popen[bytes]] = []
    logs = []

    def run(
        port: int, healthcheck_seconds: int = 60, **environment: str
    ) -> subprocess.Popen[bytes]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PUBLIC_BASE_URL", "VNEID_", "SERVE_URL", "MOCK_VNEID"))
        }
        env |= {
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "IMPORTS_DIR": str(tmp_path / "imports"),
            "ENVIRONMENT": "test",
            "DELIVERY_WORKER": "false",
            "RECOUNT_WORKER": "false",
            "LOG_LEVEL": "WARNING",
        } | environment
        log = (tmp_path / f"serve-{port}.log").open("w")
        logs.append(log)
        process = subprocess.Popen(  # noqa: S603
            [
                str(Path(sys.executable).parent / "hocvuso"),
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--no-prepare",
                "--worker-healthcheck-seconds",
                str(healthcheck_seconds),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        for pid in [process.pid, *(children(process.pid) if alive(process.pid) else [])]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(END_SECONDS)
    for log in logs:
        log.close()


def test_workers_stop_when_their_master_is_killed(serve: Any) -> None:
    port = free_port()
    master = serve(port)

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(answers, START_SECONDS)
    workers = children(master.pid)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    os.kill(master.pid, signal.SIGKILL)
    master.wait(END_SECONDS)
    assert wait_until(lambda: not any(alive(pid) for pid in workers), END_SECONDS)
    # The port is free again for a new start.
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_a_failed_start_up_ends_the_workers_and_the_master(serve: Any) -> None:
    # A name the accounts refuse: creating the admin fails in every worker's start-up. The
    # master sees it when the worker ends, not when a health check it was waiting on times out.
    master = serve(
        free_port(),
        healthcheck_seconds=int(START_SECONDS),
        ADMIN_USERNAME="không hợp lệ!",
        ADMIN_PASSWORD="x" * 20,
    )
    try:
        master.wait(START_SECONDS - 30)
    except subprocess.TimeoutExpired:
        pytest.fail("`hocvuso serve` still runs after its workers' start-up failed")
    # uvicorn's STARTUP_FAILURE: a supervisor sees the start failed, not a clean stop.
    assert master.returncode == 3


def _worker_still_starting(watching: str) -> None:
    time.sleep(2)  # its master is killed meanwhile
    supervision.exit_with_master(watch_seconds=0.1)
    Path(watching).write_text("watching")
    time.sleep(60)


def _master_of_a_slow_worker(worker_pid: str, watching: str) -> None:
    worker = multiprocessing.get_context("spawn").Process(
        target=_worker_still_starting, args=(watching,)
    )
    worker.start()
    Path(worker_pid).write_text(str(worker.pid))
    worker.join()


def test_a_worker_whose_master_died_while_it_started_stops_too(tmp_path: Path) -> None:
    # Adopted by another process before it began watching, the worker must still see that the
    # process which started it is gone.
    worker_pid, watching = tmp_path / "worker.pid", tmp_path / "watching"
    master = multiprocessing.get_context("spawn").Process(
        target=_master_of_a_slow_worker, args=(str(worker_pid), str(watching))
    )
    master.start()
    assert wait_until(worker_pid.exists, START_SECONDS)
    worker = int(worker_pid.read_text())
    os.kill(master.pid or 0, signal.SIGKILL)
    master.join()
    assert wait_until(lambda: not alive(worker), 30)
