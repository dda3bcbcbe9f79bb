import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.audit import service as audit
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine
from app.core.migrate import alembic_config
from app.ledger.rebuild import compare, rebuild
from tests.certificates.helpers import certify, register
from tests.factories import CITIZEN_COURSES, HN_HOAN_KIEM, Staff, complete


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


def test_existing_certificates_are_dated_by_their_results_on_upgrade(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    headers = staff["hk_member"]
    first = register(client, staff, 1)["id"]
    for course in CITIZEN_COURSES:  # done in May, recorded today
        complete(client, headers, first, course, completed_at="2026-05-10T09:00:00+07:00")
    second = register(client, staff, 2)["id"]
    certificate = certify(client, staff, second)
    revoked = client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Gian lận"},
        headers=staff["hk_admin"],
    )
    assert revoked.status_code == 200
    complete(client, headers, second, CITIZEN_COURSES[0], 95, "2026-06-01T09:00:00+07:00")
    assert (
        len(client.get(f"/api/v1/learners/{second}/certificates", headers=headers).json()["items"])
        == 2
    )  # a new certificate after the revocation

    # As the service stood before: every certificate counted from its issue.
    session.execute(text("UPDATE certificate SET attained_at = issued_at"))
    bind_context(session, WriteContext(18))
    rebuild(session)
    session.commit()
    assert certified_in_may(client, staff) == 0
    session.close()

    config = alembic_config(database_url)
    command.downgrade(config, "0010")  # the revoked one of the two goes, the totals follow
    command.upgrade(config, "head")
    session.expire_all()
    assert compare(session).agree
    [dated] = client.get(f"/api/v1/learners/{first}/certificates", headers=headers).json()["items"]
    assert dated["attained_at"].startswith("2026-05-10T02:00:00")
    assert dated["issued_at"][:10] != "2026-05-10"
    assert certified_in_may(client, staff) == 1


def certified_in_may(client: TestClient, staff: Staff) -> int:
    body = client.get(
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}",
        params={"as_of": "2026-05-31"},
        headers=staff["hk_admin"],
    ).json()
    return int(
        next(i for i in body["indicators"] if i["indicator"] == "adults_certified")["numerator"]
    )


def test_learners_keep_only_the_indexes_a_query_uses(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "head")
    engine = make_engine(empty_database_url)
    try:
        found = inspect(engine)
        indexes = {index["name"] for index in found.get_indexes("learner")}
        unique = {c["name"] for c in found.get_unique_constraints("learner")}
    finally:
        engine.dispose()
    # Each stored row writes every index: the commune's alone repeated the first column of
    # (commune, name), and the village's served a list that now goes by the commune.
    assert indexes - unique == {"ix_learner_commune_name", "ix_learner_province_name"}
