"""Two results that together complete a program, recorded at the same moment, issue its
certificate: whichever is stored second sees the first (PostgreSQL, where writers overlap)."""

import asyncio
import threading
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.certificates import issuance
from app.certificates.models import Certificate
from app.core import direct
from app.training.models import Completion
from tests.certificates.helpers import register
from tests.factories import CITIZEN_COURSES, Staff, complete

FIRST, SECOND = CITIZEN_COURSES[-2:]


def _lock_waiters(database_url: str) -> int:
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    assert row is not None
    return int(row[0])


class Other:
    """The other result, sent from a thread of its own while the first is being recorded."""

    def __init__(self, client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> None:
        self.answers: list[httpx.Response] = []
        self.thread = threading.Thread(
            target=lambda: self.answers.append(
                client.post("/api/v1/completions", json=body, headers=headers)
            )
        )
        self.blocked = False
        self.deadline = 0.0

    def send_once(self) -> bool:
        """Send it, the first time only: whether it was sent now."""
        if self.thread.is_alive() or self.answers:
            return False
        self.thread.start()
        self.deadline = time.monotonic() + 20
        return True

    def settled(self, database_url: str) -> bool:
        """Whether it has finished, or waits for a lock the first one holds."""
        assert time.monotonic() < self.deadline, "the other request neither finished nor waited"
        self.blocked = self.thread.is_alive()
        return not self.blocked or _lock_waiters(database_url) > 0

    def waited_and_completed(self, session: Session, learner: str) -> None:
        """It waited for the first one's lock, then saw its result: both stored, and the
        certificate issued."""
        self.thread.join(timeout=30)
        [answer] = self.answers
        assert answer.status_code == 201, answer.text
        assert self.blocked
        session.expire_all()
        learner_id = uuid.UUID(learner)
        passed = session.exec(
            select(Completion.course_code).where(
                Completion.learner_id == learner_id, Completion.passed
            )
        ).all()
        assert sorted(passed) == sorted(CITIZEN_COURSES)
        programs = session.exec(
            select(Certificate.program_code).where(Certificate.learner_id == learner_id)
        ).all()
        assert programs == ["CHUAN-NGUOI-DAN"]


@pytest.fixture
def one_course_short(
    client: TestClient, staff: Staff, database_url: str
) -> tuple[str, dict[str, str]]:
    """A learner who passed every course of the citizens' standard but the last two."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    headers = staff["hk_member"]
    learner = str(register(client, staff, 1)["id"])
    for course in CITIZEN_COURSES[:-2]:
        complete(client, headers, learner, course)
    return learner, headers


def _result(
    client: TestClient, headers: dict[str, str], learner: str, course: str, *, in_class: bool
) -> dict[str, Any]:
    """A passing result's body; one with a class goes the session path."""
    body = {
        "learner_id": learner,
        "course_code": course,
        "completed_at": "2026-05-10T09:00:00+07:00",
        "score": 90,
        "method": "home_visit",
    }
    if in_class:
        held = client.post(
            "/api/v1/classes",
            json={"course_code": course, "held_on": "2026-05-10"},
            headers=headers,
        )
        assert held.status_code == 201, held.text
        body |= {"method": "class", "class_id": held.json()["id"]}
    return body


def test_a_result_stored_while_another_is_read_on_the_fast_path(
    client: TestClient,
    session: Session,
    database_url: str,
    one_course_short: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    learner, headers = one_course_short
    other = Other(client, headers, _result(client, headers, learner, SECOND, in_class=False))
    real = direct.Transaction.commit

    async def commit_once_the_other_settled(self: direct.Transaction, query: Any) -> Any:
        # This result was read and judged (no certificate yet); the other is sent now.
        if other.send_once():
            while not other.settled(database_url):
                await asyncio.sleep(0.02)
        return await real(self, query)

    monkeypatch.setattr(direct.Transaction, "commit", commit_once_the_other_settled)
    first = client.post(
        "/api/v1/completions",
        json=_result(client, headers, learner, FIRST, in_class=False),
        headers=headers,
    )
    assert first.status_code == 201, first.text
    other.waited_and_completed(session, learner)


@pytest.mark.parametrize("other_in_class", [False, True], ids=["then-fast", "then-session"])
def test_a_result_stored_while_another_is_read_on_the_session_path(
    client: TestClient,
    session: Session,
    database_url: str,
    one_course_short: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    other_in_class: bool,
) -> None:
    learner, headers = one_course_short
    body = _result(client, headers, learner, FIRST, in_class=True)
    other = Other(
        client, headers, _result(client, headers, learner, SECOND, in_class=other_in_class)
    )
    real = issuance.attained_programs

    def read_then_the_other(session: Session, learner_id: uuid.UUID) -> list[str]:
        # A result with a class goes the session path, which reads the learner's scores here.
        attained = real(session, learner_id)
        if other.send_once():
            while not other.settled(database_url):
                time.sleep(0.02)
        return attained

    monkeypatch.setattr(issuance, "attained_programs", read_then_the_other)
    first = client.post("/api/v1/completions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    other.waited_and_completed(session, learner)
