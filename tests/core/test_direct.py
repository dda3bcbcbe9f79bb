"""Statements outside any session: the same rows as SQLAlchemy's, and they survive a dropped
link."""

import asyncio
from datetime import date, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import bindparam
from sqlmodel import Session, col

from app.core.db import make_engine
from app.core.direct import APPLICATION_NAME, DirectRunner
from app.stats.models import Target
from app.units.models import Commune
from tests.factories import HN_HOAN_KIEM, Staff, learner_payload

TARGETS = sa.select(
    col(Target.indicator), col(Target.scope_code), col(Target.deadline), col(Target.updated_at)
).where(col(Target.scope_code) == bindparam("code"))
COMMUNE = sa.select(col(Commune.name), col(Commune.province_code)).where(
    col(Commune.code) == bindparam("code")
)


def test_several_reads_answer_in_order_with_the_columns_types(database_url: str) -> None:
    engine = make_engine(database_url)

    async def read() -> list[list[tuple[object, ...]]]:
        reads = DirectRunner(engine)
        await reads.open()
        try:
            return await reads.run(
                (TARGETS, {"code": "VN"}),
                (COMMUNE, {"code": HN_HOAN_KIEM}),
                (COMMUNE, {"code": "99999"}),
            )
        finally:
            await reads.close()

    try:
        with Session(engine) as session:
            expected = [tuple(row) for row in session.execute(TARGETS, {"code": "VN"})]
        targets, commune, nothing = asyncio.run(read())
    finally:
        engine.dispose()
    assert len(expected) == 5  # the national targets the seed sets
    assert sorted(targets) == sorted(expected)
    for _indicator, _scope, deadline, updated_at in targets:
        assert deadline == date(2026, 12, 31)
        assert isinstance(updated_at, datetime)
        assert updated_at.utcoffset() == timedelta(0)
    assert commune == [("Phường Hoàn Kiếm", "01")]
    assert nothing == []


def _drop_connections(database_url: str) -> None:
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchone()
    assert dropped is not None and dropped[0] >= 1


@pytest.mark.postgresql_only("SQLite has no server to drop a connection")
def test_a_read_after_the_server_dropped_its_connections_is_answered(
    client: TestClient, staff: Staff, database_url: str
) -> None:
    url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert client.get(url, headers=staff["hk_admin"]).status_code == 200
    _drop_connections(database_url)
    again = client.get(url, headers=staff["hk_admin"])
    assert again.status_code == 200, again.text
    assert again.json()["unit"]["code"] == HN_HOAN_KIEM


def test_a_completion_after_the_server_dropped_its_connections_is_recorded(
    client: TestClient, staff: Staff, database_url: str
) -> None:
    headers = staff["hk_member"]
    learners = [
        client.post(
            "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, serial=n), headers=headers
        ).json()["id"]
        for n in (1, 2)
    ]
    body = {"course_code": "CB-VNEID", "score": 90, "completed_at": "2026-03-10", "method": "class"}
    first = client.post(
        "/api/v1/completions", json=body | {"learner_id": learners[0]}, headers=headers
    )
    assert first.status_code == 201, first.text
    if database_url.startswith("postgresql"):
        _drop_connections(database_url)
    again = client.post(
        "/api/v1/completions", json=body | {"learner_id": learners[1]}, headers=headers
    )
    assert again.status_code == 201, again.text
    assert again.json()["learner_id"] == learners[1]


RENAME = (
    sa.update(Commune)
    .where(col(Commune.code) == bindparam("code"))
    .values(name=bindparam("name"))
    .returning(col(Commune.name))
)


@pytest.mark.postgresql_only("transactions on the event loop are PostgreSQL's")
def test_a_transaction_commits_only_when_told(database_url: str) -> None:
    engine = make_engine(database_url)

    async def rename() -> tuple[list[object], list[object], list[object]]:
        direct = DirectRunner(engine)
        await direct.open()
        try:
            with pytest.raises(RuntimeError):
                async with direct.transaction() as transaction:
                    [renamed] = await transaction.run((RENAME, {"code": HN_HOAN_KIEM, "name": "X"}))
                    assert renamed == [("X",)]
                    raise RuntimeError("left without a commit")
            [[after_error]] = await direct.run((COMMUNE, {"code": HN_HOAN_KIEM}))
            async with direct.transaction() as transaction:
                await transaction.run((RENAME, {"code": HN_HOAN_KIEM, "name": "Z"}))
            [[after_leaving]] = await direct.run((COMMUNE, {"code": HN_HOAN_KIEM}))
            async with direct.transaction() as transaction:
                committed = await transaction.commit((RENAME, {"code": HN_HOAN_KIEM, "name": "Y"}))
            [[after_commit]] = await direct.run((COMMUNE, {"code": HN_HOAN_KIEM}))
            return [after_error, after_leaving], committed, [after_commit]
        finally:
            await direct.close()

    try:
        (after_error, after_leaving), committed, [after_commit] = asyncio.run(rename())
    finally:
        engine.dispose()
    assert after_error == after_leaving == ("Phường Hoàn Kiếm", "01")
    assert committed == [("Y",)]
    assert after_commit == ("Y", "01")
