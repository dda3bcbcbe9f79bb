"""A phone's batch whose request died is done by the retry at once, not after a lease."""

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.core.db import make_engine
from app.learners.models import Learner
from app.sync import service
from tests.factories import Staff
from tests.sync.test_sync_api import SYNC, batch_of

WAIT_SECONDS = 60.0


def test_a_batch_whose_request_died_is_taken_over_at_once(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite holds a key in progress by its lease (IDEMPOTENCY_LOCK_SECONDS)")
    headers = {**staff["hk_member"], "Idempotency-Key": "phone-1-batch-9"}
    body = batch_of(3)
    real = service.sync
    entered, resume = threading.Event(), threading.Event()

    def sync_that_hangs_once(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            # The first request has its key and stops here, as a process would that died.
            entered.set()
            resume.wait(WAIT_SECONDS)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "sync", sync_that_hangs_once)
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(client.post(SYNC, json=body, headers=headers)), daemon=True
    )
    first.start()
    try:
        held_then_died(client, session, database_url, body, headers, entered)
        retried = client.post(SYNC, json=body, headers=headers)
    finally:
        # The first request wakes, on a dead connection: it stores nothing.
        resume.set()
        first.join(WAIT_SECONDS)
    assert retried.status_code == 200, retried.text
    assert [r["status"] for r in retried.json()["results"]] == ["created"] * 6
    assert answers and answers[0].status_code == 503, answers[0].text
    session.rollback()
    assert session.exec(select(func.count()).select_from(Learner)).one() == 3
    replay = client.post(SYNC, json=body, headers=headers)
    assert replay.json() == retried.json()


def held_then_died(
    client: TestClient,
    session: Session,
    database_url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    entered: threading.Event,
) -> None:
    """The first request holds the key (a retry is told to wait), then its connection ends."""
    assert entered.wait(WAIT_SECONDS)
    busy = client.post(SYNC, json=body, headers=headers)
    assert busy.status_code == 409, busy.text
    own = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = make_engine(database_url, pool_size=1)
    with admin.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state LIKE 'idle in transaction%' "
                "AND pid <> :own"
            ),
            {"own": own},
        ).scalar_one()
    admin.dispose()
    assert ended >= 1
