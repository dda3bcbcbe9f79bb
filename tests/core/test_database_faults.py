"""Under a database fault a request fails fast with 503 and Retry-After, and changes nothing.

A row held by another transaction, a statement the server cancels, a connection the server
ends: each answers 503 (the client sends it again) instead of hanging or answering 500.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.db import make_engine
from app.core.direct import DirectRunner, Transaction
from app.training.models import Completion
from tests.factories import HN_HOAN_KIEM, Staff, learner_payload

# Long enough for any request of these tests to finish, were it not held up.
RELEASE_AFTER_SECONDS = 15.0


@pytest.fixture
def lock_timeout_ms() -> int:
    return 300


@pytest.fixture
def settings(settings: Settings, lock_timeout_ms: int) -> Settings:
    return settings.model_copy(
        update={"database_lock_timeout_ms": lock_timeout_ms, "readiness_timeout_seconds": 0.5}
    )


@pytest.fixture
def holder(database_url: str) -> Iterator[Engine]:
    """Another client of the database, to hold locks the service's requests need."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks, timeouts and ended connections are PostgreSQL's")
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


def register(client: TestClient, staff: Staff) -> str:
    response = client.post(
        "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, serial=1), headers=staff["hk_member"]
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@contextmanager
def row_held(engine: Engine, learner_id: str) -> Iterator[int]:
    """The learner's row locked by another transaction (its backend's pid), then released."""
    with engine.connect() as connection:
        connection.execute(
            text("SELECT id FROM learner WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(learner_id)}
        )
        yield connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        connection.rollback()


def in_background(send: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(send()), daemon=True)
    thread.start()
    return thread, answers


def answered_while_held(
    engine: Engine, learner_id: str, send: Callable[[], httpx.Response]
) -> httpx.Response:
    """The answer to `send` while the learner's row is held (released after a while, so a
    request that waits for it ends with the row's holder, not the timeout)."""
    with row_held(engine, learner_id):
        thread, answers = in_background(send)
        thread.join(RELEASE_AFTER_SECONDS)
    thread.join()
    [answer] = answers
    assert isinstance(answer, httpx.Response)
    return answer


def assert_retry_later(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:hocvuso:problem:busy"


def test_a_write_to_a_row_held_elsewhere_answers_503_instead_of_waiting(
    client: TestClient, staff: Staff, holder: Engine, session: Session
) -> None:
    learner = register(client, staff)
    answer = answered_while_held(
        holder,
        learner,
        lambda: client.patch(
            f"/api/v1/learners/{learner}",
            json={"full_name": "Tên Mới"},
            headers=staff["hk_member"],
        ),
    )
    assert_retry_later(answer)
    # Nothing changed; sent again once the row is free, it is stored.
    again = client.patch(
        f"/api/v1/learners/{learner}", json={"full_name": "Tên Mới"}, headers=staff["hk_member"]
    )
    assert again.status_code == 200, again.text
    assert again.json()["full_name"] == "Tên Mới"


def test_a_completion_for_a_learner_held_elsewhere_answers_503(
    client: TestClient, staff: Staff, holder: Engine, session: Session
) -> None:
    # The completion's own path on the event loop's pool takes the learner's lock first.
    learner = register(client, staff)
    body = {
        "learner_id": learner,
        "course_code": "CB-THIETBI",
        "completed_at": "2026-03-10T09:00:00+07:00",
        "score": 90,
        "method": "home_visit",
    }
    answer = answered_while_held(
        holder,
        learner,
        lambda: client.post("/api/v1/completions", json=body, headers=staff["hk_member"]),
    )
    assert_retry_later(answer)
    stored = session.exec(
        select(Completion.id).where(col(Completion.learner_id) == uuid.UUID(learner))
    ).all()
    assert stored == []


@pytest.mark.parametrize("lock_timeout_ms", [60_000])
def test_a_request_whose_connection_the_server_ends_answers_503(
    client: TestClient, staff: Staff, holder: Engine, session: Session
) -> None:
    learner = register(client, staff)
    with row_held(holder, learner) as holding_pid, holder.connect() as admin:
        thread, answers = in_background(
            lambda: client.patch(
                f"/api/v1/learners/{learner}",
                json={"full_name": "Tên Mới"},
                headers=staff["hk_member"],
            )
        )
        # The request's backend, waiting for the row: the server ends its connection.
        ended = 0
        deadline = time.monotonic() + RELEASE_AFTER_SECONDS
        while not ended and time.monotonic() < deadline:
            ended = admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND pid <> :holding"
                ),
                {"holding": holding_pid},
            ).scalar_one()
            admin.commit()
            time.sleep(0.05)
        assert ended == 1
        thread.join(RELEASE_AFTER_SECONDS)
    thread.join()
    [answer] = answers
    assert_retry_later(answer)
    again = client.patch(
        f"/api/v1/learners/{learner}", json={"full_name": "Tên Mới"}, headers=staff["hk_member"]
    )
    assert again.status_code == 200, again.text


def test_readiness_reports_a_database_that_does_not_answer_in_time(
    client: TestClient, holder: Engine
) -> None:
    assert client.get("/readyz").status_code == 200
    with holder.connect() as connection:
        connection.execute(text('LOCK TABLE "user" IN ACCESS EXCLUSIVE MODE'))
        thread, answers = in_background(lambda: client.get("/readyz"))
        thread.join(RELEASE_AFTER_SECONDS)
        connection.rollback()
    thread.join()
    [answer] = answers
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["database"]["ok"] is False


def completion_body(learner: str) -> dict[str, Any]:
    return {
        "learner_id": learner,
        "course_code": "CB-THIETBI",
        "completed_at": "2026-03-10T09:00:00+07:00",
        "score": 90,
        "method": "home_visit",
    }


def test_a_completion_committed_as_its_connection_dropped_answers_created(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the event loop's path for completions is PostgreSQL's")
    learner = register(client, staff)
    real = Transaction.commit

    async def committed_then_dropped(self: Transaction, query: Any) -> Any:
        await real(self, query)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Transaction, "commit", committed_then_dropped)
    answer = client.post(
        "/api/v1/completions", json=completion_body(learner), headers=staff["hk_member"]
    )
    assert answer.status_code == 201, answer.text
    stored = session.exec(
        select(Completion.id).where(col(Completion.learner_id) == uuid.UUID(learner))
    ).all()
    assert [str(i) for i in stored] == [answer.json()["id"]]


def test_a_completion_committed_in_a_session_as_its_connection_dropped_answers_created(
    client: TestClient, staff: Staff, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = register(client, staff)
    monkeypatch.setattr(DirectRunner, "on_loop", property(lambda self: False))
    real = Session.commit
    armed = threading.Event()

    def committed_then_dropped(self: Session) -> None:
        real(self)
        if armed.is_set() and threading.current_thread() is not threading.main_thread():
            armed.clear()
            raise OperationalError(
                "COMMIT",
                {},
                psycopg.OperationalError("server closed the connection unexpectedly"),
                connection_invalidated=True,
            )

    monkeypatch.setattr(Session, "commit", committed_then_dropped)
    armed.set()
    answer = client.post(
        "/api/v1/completions", json=completion_body(learner), headers=staff["hk_member"]
    )
    assert not armed.is_set()
    assert answer.status_code == 201, answer.text
    stored = session.exec(
        select(Completion.id).where(col(Completion.learner_id) == uuid.UUID(learner))
    ).all()
    assert [str(i) for i in stored] == [answer.json()["id"]]
