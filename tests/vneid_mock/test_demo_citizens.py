"""Demonstration citizens: a national admin adds them to the mock VNeID, over HTTP or the CLI."""

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.certificates.models import Certificate
from app.cli import cli
from app.core.config import Settings
from app.core.signing import rotate
from app.core.vneid_wire import mock_registry_key
from app.vneid_mock.main import create_mock_app
from app.vneid_mock.models import VneidCitizen
from tests.certificates.helpers import certify, deliver, register
from tests.factories import Staff, citizen_id_for

PERSON = {
    "citizen_id": citizen_id_for(date(1985, 4, 12), "male", serial=1),
    "full_name": "Nguyễn Văn An",
    "birth_date": "1985-04-12",
    "passcode": "135790",
}


def test_a_national_admin_adds_a_citizen_who_can_then_sign_in_and_receive(
    client: TestClient, staff: Staff, session: Session
) -> None:
    added = client.post("/api/v1/mock-vneid/citizens", json=PERSON, headers=staff["national"])
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["citizen_id_masked"].endswith(PERSON["citizen_id"][-4:])
    assert PERSON["citizen_id"] not in added.text and PERSON["passcode"] not in added.text
    again = client.post("/api/v1/mock-vneid/citizens", json=PERSON, headers=staff["national"])
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "vneid.citizen_add"))
    assert [e.target_id for e in events] == [body["handle"]]

    # The registered learner signs in with that passcode and their certificate is delivered.
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    signed_in = client.post(
        "/mock-vneid/oauth/token",
        data={"username": PERSON["citizen_id"], "password": PERSON["passcode"]},
    )
    assert signed_in.status_code == 200
    exchanged = client.post("/api/v1/auth/vneid", json={"id_token": signed_in.json()["id_token"]})
    assert exchanged.status_code == 200
    deliver(client)
    stored = session.get(Certificate, uuid.UUID(certificate["id"]))
    assert stored is not None and stored.vneid_status == "delivered"


def test_nobody_else_adds_citizens_and_never_in_production(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    before = len(session.exec(select(VneidCitizen)).all())
    for role in ("hn_admin", "hk_admin", "hk_member"):
        refused = client.post("/api/v1/mock-vneid/citizens", json=PERSON, headers=staff[role])
        assert refused.status_code == 403, role
    assert client.post("/api/v1/mock-vneid/citizens", json=PERSON).status_code == 401
    bad = client.post(
        "/api/v1/mock-vneid/citizens",
        json={**PERSON, "passcode": "12"},
        headers=staff["national"],
    )
    assert bad.status_code == 422
    # The mock's own endpoint takes only the tracker's key.
    assert client.post("/mock-vneid/api/admin/citizens", json=PERSON).status_code == 401
    wrong_key = client.post(
        "/mock-vneid/api/admin/citizens",
        json=PERSON,
        headers={"Authorization": "Bearer " + "0" * 64},
    )
    assert wrong_key.status_code == 401
    assert len(session.exec(select(VneidCitizen)).all()) == before
    right = client.post(
        "/mock-vneid/api/admin/citizens",
        json=PERSON,
        headers={"Authorization": f"Bearer {mock_registry_key(settings)}"},
    )
    assert right.status_code == 201


def test_the_registry_refuses_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    rotate(production.mock_keys_dir, prefix="vneid")
    with TestClient(create_mock_app(production)) as alone:
        answer = alone.post(
            "/api/admin/citizens",
            json=PERSON,
            headers={"Authorization": f"Bearer {mock_registry_key(production)}"},
        )
    assert answer.status_code == 404


def test_the_cli_adds_a_citizen_asking_for_the_number_and_passcode_hidden(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PII_KEY", settings.pii_key.get_secret_value())
    runner = CliRunner()
    args = ["mock-vneid", "add-citizen", "--full-name", "Trần Thị Bình", "--birth-date"]
    number = citizen_id_for(date(1990, 9, 3), "female", serial=7)
    result = runner.invoke(cli, [*args, "1990-09-03"], input=f"{number}\n246810\n")
    assert result.exit_code == 0, result.output
    assert "Trần Thị Bình" in result.output and number not in result.output
    again = runner.invoke(cli, [*args, "1990-09-03"], input=f"{number}\n246810\n")
    assert again.exit_code == 1 and "already" in again.output
    bad = runner.invoke(cli, [*args, "1990-13-03"], input=f"{number}\n246810\n")
    assert bad.exit_code == 2 and "birth_date" in bad.output
    signed_in = client.post(
        "/mock-vneid/oauth/token", data={"username": number, "password": "246810"}
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["id_token"]
