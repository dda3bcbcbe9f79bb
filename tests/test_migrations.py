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
