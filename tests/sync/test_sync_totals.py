"""A phone's batch keeps the running totals right, and never deadlocks another batch."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session

from app.core.clock import VIETNAM
from app.ledger import totals
from app.ledger.models import NATION
from app.ledger.rebuild import compare
from tests.factories import (
    CITIZEN_COURSES,
    HN,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    TQ,
    TQ_COMMUNE,
    Staff,
    complete,
    learner_payload,
)
from tests.sync.test_sync_api import SYNC, completion_record, learner_record

AS_OF = "2030-01-01"


def _registered_adults(client: TestClient, staff: Staff, url: str) -> int:
    answer = client.get(url, params={"as_of": AS_OF}, headers=staff["national"])
    assert answer.status_code == 200, answer.text
    found = {i["indicator"]: i for i in answer.json()["indicators"]}
    assert found["adults_certified"]["denominator_source"] == "registered"
    return int(found["adults_certified"]["denominator"])


def _waiting_for_locks(engine: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE NOT l.granted AND a.datname = current_database()"
                )
            ).scalar_one()
        )


def _sent_together(
    database_url: str, hold: str, params: dict[str, Any], send: list[Callable[[], httpx.Response]]
) -> list[httpx.Response]:
    """Send the requests at once while another transaction holds a row they need (`hold`, a
    `SELECT … FOR UPDATE`), so that both are under way together when it lets go."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as holder:
            holder.execute(text(hold), params)
            with ThreadPoolExecutor(max_workers=len(send)) as pool:
                sent = [pool.submit(request) for request in send]
                deadline = time.monotonic() + 30
                while _waiting_for_locks(engine) < len(send):
                    assert time.monotonic() < deadline, "the requests never met"
                    assert not any(f.done() for f in sent), "a request went past the held row"
                    time.sleep(0.05)
                holder.commit()
                return [f.result(timeout=60) for f in sent]
    finally:
        engine.dispose()


def _batches_created_together(
    client: TestClient,
    database_url: str,
    hold: str,
    params: dict[str, Any],
    batches: list[tuple[list[dict[str, Any]], dict[str, str]]],
) -> None:
    """Send the phones' batches of learners (each with its sender's headers) together while
    `hold` holds a row they all need; every learner of every batch is created."""
    answers = _sent_together(
        database_url,
        hold,
        params,
        [
            partial(client.post, SYNC, json={"learners": batch}, headers=headers)
            for batch, headers in batches
        ],
    )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert {r["status"] for r in answer.json()["results"]} == {"created"}


def test_two_province_batches_over_the_same_communes_in_opposite_orders(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    first = learner_record(HN_HOAN_KIEM, 1)
    assert (
        client.post(SYNC, json={"learners": [first]}, headers=staff["hn_admin"]).status_code == 200
    )
    # Two province admins' phones, each alternating between the same two communes, in
    # opposite orders: each registration of an adult adds to its commune's and the province's
    # count of the day.
    one = [learner_record((HN_HOAN_KIEM, HN_CUA_NAM)[n % 2], 10 + n) for n in range(6)]
    other = [learner_record((HN_CUA_NAM, HN_HOAN_KIEM)[n % 2], 20 + n) for n in range(6)]

    # Someone else holds the province's rows for a moment, so both batches are under way
    # together when it lets go.
    _batches_created_together(
        client,
        database_url,
        "SELECT 1 FROM stat_total WHERE level = 'province' AND unit_code = :p FOR UPDATE",
        {"p": HN},
        [(one, staff["hn_admin"]), (other, staff["hn_admin"])],
    )
    assert _registered_adults(client, staff, f"/api/v1/stats/provinces/{HN}") == 13
    assert _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == 7
    assert _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_CUA_NAM}") == 6
    session.expire_all()
    assert compare(session).agree


def test_two_provinces_batches_meet_at_the_nations_rows(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    # Every registration of an adult, in any province, adds to the nation's count of the day
    # (the first one of the day makes the row): two provinces' phones share no commune and no
    # province row, only the nation's.
    first = learner_record(HN_HOAN_KIEM, 29)
    assert (
        client.post(SYNC, json={"learners": [first]}, headers=staff["hn_admin"]).status_code == 200
    )
    hanoi = [learner_record((HN_HOAN_KIEM, HN_CUA_NAM)[n % 2], 30 + n) for n in range(5)]
    tuyen_quang = [learner_record(TQ_COMMUNE, 40 + n) for n in range(4)]

    _batches_created_together(
        client,
        database_url,
        "SELECT 1 FROM stat_total WHERE level = 'national' AND unit_code = :n FOR UPDATE",
        {"n": NATION},
        [(hanoi, staff["hn_admin"]), (tuyen_quang, staff["tq_admin"])],
    )
    assert _registered_adults(client, staff, f"/api/v1/stats/provinces/{HN}") == 6
    assert _registered_adults(client, staff, f"/api/v1/stats/provinces/{TQ}") == 4
    assert _registered_adults(client, staff, "/api/v1/stats/national") == 10
    session.expire_all()
    assert compare(session).agree


def test_a_record_that_fails_adds_nothing_and_the_rest_add_once(
    client: TestClient, staff: Staff, session: Session
) -> None:
    assert (
        client.post(
            SYNC, json={"learners": [learner_record(HN_HOAN_KIEM, 1)]}, headers=staff["hn_admin"]
        ).status_code
        == 200
    )
    before = _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}")
    row = ("commune", HN_HOAN_KIEM, "reg_adults", datetime.now(VIETNAM).date())
    with totals.held_back(session):
        with totals.held_back(session):
            totals.apply(session, {row: 5})
        with pytest.raises(RuntimeError), totals.held_back(session):
            totals.apply(session, {row: 100})
            raise RuntimeError("the record is refused")
        # Nothing reaches the table before the outermost block ends.
        session.commit()
        assert _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == before
        totals.apply(session, {row: 2})
    session.commit()
    assert _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == before + 7
    with pytest.raises(RuntimeError), totals.held_back(session):
        totals.apply(session, {row: 1})
        raise RuntimeError("the whole batch fails")
    session.commit()
    assert _registered_adults(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == before + 7


def test_two_phones_sending_the_same_learners_results_in_opposite_orders(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    # Two learners one course short of the citizens' standard: the last result issues a
    # certificate, which takes the learner's lock.
    learners = []
    for serial in (1, 2):
        registered = client.post(
            "/api/v1/learners",
            json=learner_payload(HN_HOAN_KIEM, serial=serial),
            headers=staff["hk_member"],
        )
        assert registered.status_code == 201, registered.text
        learners.append(registered.json()["id"])
        for course in CITIZEN_COURSES[:-1]:
            complete(client, staff["hk_member"], learners[-1], course)
    first, second = sorted(learners)
    last = CITIZEN_COURSES[-1]

    # Two phones of the team recorded the same class and send its results, each in its own
    # order.
    def results(order: list[str]) -> dict[str, Any]:
        return {
            "completions": [
                completion_record({"learner_id": learner}, course_code=last) for learner in order
            ]
        }

    # Someone else holds the first learner for a moment, so both batches are under way
    # together when it lets go.
    answers = _sent_together(
        database_url,
        "SELECT 1 FROM learner WHERE id = :id FOR UPDATE",
        {"id": first},
        [
            partial(client.post, SYNC, json=results(order), headers=staff["hk_member"])
            for order in ([first, second], [second, first])
        ],
    )

    statuses = []
    for answer in answers:
        assert answer.status_code == 200, answer.text
        statuses.append([r["status"] for r in answer.json()["results"]])
    # Each result is reported in the order it was sent; one phone's are stored, the other's
    # are the same results again.
    assert sorted(statuses) == [["created", "created"], ["duplicate", "duplicate"]]
    certified = client.get(
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}",
        params={"as_of": AS_OF},
        headers=staff["national"],
    ).json()
    found = {i["indicator"]: i["numerator"] for i in certified["indicators"]}
    assert found["adults_certified"] == 2
    session.expire_all()
    assert compare(session).agree
