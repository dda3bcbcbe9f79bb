"""Hot reads run straight on the driver: they must return what SQLAlchemy would."""

from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import bindparam, text
from sqlmodel import Session, col

from app.core.db import make_engine, read_bind, read_columns
from app.stats.models import Target

TARGETS = sa.select(
    col(Target.indicator),
    col(Target.scope_code),
    col(Target.value),
    col(Target.deadline),
    col(Target.updated_at),
).where(col(Target.updated_at) <= bindparam("at", type_=Target.__table__.c.updated_at.type))  # type: ignore[attr-defined]
TARGETS_OF_CODES = TARGETS.where(col(Target.scope_code).in_(bindparam("codes", expanding=True)))


def test_rows_match_sqlalchemys_with_the_columns_types_applied(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            if engine.dialect.name == "postgresql":
                # The server answers timestamps in the connection's zone; the column's type
                # turns them into UTC, and so must the direct path.
                session.connection().execute(text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
            vietnam_now = datetime.now(timezone(timedelta(hours=7))) + timedelta(days=1)
            expected = [tuple(row) for row in session.execute(TARGETS, {"at": vietnam_now})]
            direct = read_columns(session, TARGETS, {"at": vietnam_now})
            again = read_columns(session, TARGETS, {"at": vietnam_now})
            expanded = read_columns(session, TARGETS_OF_CODES, {"at": vietnam_now, "codes": ["VN"]})
    finally:
        engine.dispose()
    assert len(expected) == 5  # the national targets the seed sets
    assert sorted(direct) == sorted(expected) == sorted(again)
    assert sorted(expanded) == sorted(expected)
    for _indicator, scope, value, deadline, updated_at in direct:
        assert scope == "VN"
        assert isinstance(value, float)
        assert deadline == date(2026, 12, 31)
        assert updated_at.utcoffset() == timedelta(0)
        assert updated_at.tzinfo is UTC


def test_a_read_request_ends_without_a_transaction_left_open(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        bind = read_bind(engine)
        with Session(bind) as session:
            rows = read_columns(session, TARGETS, {"at": datetime.now(UTC)})
            assert rows
            if engine.dialect.name == "postgresql":
                # Autocommit: the statement's own transaction is already over.
                status = session.connection().connection.driver_connection.info.transaction_status
                assert status.name == "IDLE"
    finally:
        engine.dispose()


def test_pending_changes_are_flushed_before_the_read(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            session.add(
                Target(
                    indicator="adults_certified",
                    level="province",
                    scope_code="01",
                    kind="rate",
                    value=0.9,
                    deadline=date(2026, 12, 31),
                )
            )
            rows = read_columns(
                session, TARGETS_OF_CODES, {"at": datetime.now(UTC), "codes": ["01"]}
            )
            direct = read_columns(session, TARGETS, {"at": datetime.now(UTC)})
            session.rollback()
    finally:
        engine.dispose()
    assert [(row[0], row[1], row[2]) for row in rows] == [("adults_certified", "01", 0.9)]
    assert ("adults_certified", "01", 0.9) in [(row[0], row[1], row[2]) for row in direct]
