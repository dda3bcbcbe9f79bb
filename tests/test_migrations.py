import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.audit import service as audit
from app.core.db import make_engine
from app.core.migrate import alembic_config


def test_migrations_build_exactly_the_models_schema_and_go_down_again(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    # Raises if the models and the migrated schema differ in any way Alembic can see.
    command.check(config)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    command.check(config)


def test_audit_events_cannot_be_changed_or_deleted(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "head")
    engine = make_engine(empty_database_url)
    with Session(engine) as session:
        audit.record(session, actor_id="system", actor_role=None, action="test.write")
        session.commit()
    for statement in ("UPDATE audit_event SET outcome = 'forged'", "DELETE FROM audit_event"):
        with engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(text(statement))
            connection.commit()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT outcome FROM audit_event")).scalar_one() == "success"
    engine.dispose()


def test_the_nations_totals_are_added_up_from_the_provinces_on_upgrade(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0009")
    engine = make_engine(empty_database_url)
    rows = [
        ("province", "01", "reg_adults", "2026-05-01", 3),
        ("province", "79", "reg_adults", "2026-05-01", 4),
        ("province", "79", "reg_adults", "2026-06-01", 2),
        ("province", "01", "cert_adults", "2026-06-01", 1),
        ("province", "79", "cert_adults", "2026-06-01", -1),  # adds up to nothing
        ("commune", "00004", "reg_adults", "2026-05-01", 3),
    ]
    insert = text(
        "INSERT INTO stat_total (level, unit_code, metric, effective_on, count) "
        "VALUES (:level, :unit, :metric, :day, :count)"
    )
    with engine.begin() as connection:
        for level, unit, metric, day, count in rows:
            connection.execute(
                insert, {"level": level, "unit": unit, "metric": metric, "day": day, "count": count}
            )
    national = text(
        "SELECT unit_code, metric, effective_on, count FROM stat_total "
        "WHERE level = 'national' ORDER BY metric, effective_on"
    )

    command.upgrade(config, "head")
    with engine.connect() as connection:
        found = [(u, m, str(d), c) for u, m, d, c in connection.execute(national)]
    assert found == [("VN", "reg_adults", "2026-05-01", 7), ("VN", "reg_adults", "2026-06-01", 2)]

    command.downgrade(config, "0009")
    with engine.connect() as connection:
        assert connection.execute(national).all() == []
        assert connection.execute(text("SELECT count(*) FROM stat_total")).scalar_one() == 6
    engine.dispose()
