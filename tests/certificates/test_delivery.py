"""Delivery to VNeID through the outbox: outages delay it, nothing is lost, nothing doubles."""

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.certificates.delivery import claim_due, record_outcome
from app.certificates.models import Certificate
from app.cli import cli
from app.core.config import Settings
from app.ledger.contributions import CERT_ADULTS, VNEID_ADULTS
from app.main import create_app
from app.vneid_mock.models import VneidCertification
from tests.certificates.helpers import (
    PASSCODE,
    certify,
    deliver,
    enrol_citizen,
    later,
    metric_today,
    outbox,
    register,
)
from tests.factories import Staff

INTAKE = "/mock-vneid/api/certifications"


class FlakyVneid(httpx.AsyncBaseTransport):
    """The in-process transport, with VNeID's intake failing as the test says."""

    def __init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport | None = None
        self.mode = "up"
        self.failures = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.inner is not None
        if not request.url.path.startswith(INTAKE) or self.mode == "up":
            return await self.inner.handle_async_request(request)
        if self.mode == "down":
            self.failures += 1
            kind = self.failures % 4
            if kind == 0:
                raise httpx.ReadTimeout("VNeID timed out", request=request)
            if kind == 1:
                return httpx.Response(500, json={"title": "Internal error"})
            if kind == 2:
                return httpx.Response(503, text="maintenance")
            return httpx.Response(404, text="<html>not here (a proxy mid-deploy)</html>")
        # "lost": VNeID takes the certificate, but its answer never comes back.
        response = await self.inner.handle_async_request(request)
        await response.aread()
        raise httpx.ReadTimeout("answer lost", request=request)


@pytest.fixture
def flaky() -> FlakyVneid:
    return FlakyVneid()


@pytest.fixture
def client(settings: Settings, flaky: FlakyVneid) -> Iterator[TestClient]:
    app = create_app(settings)
    flaky.inner = httpx.ASGITransport(app=app)
    app.state.http_transport = flaky
    with TestClient(app) as test_client:
        yield test_client


def _certificates(session: Session) -> list[Certificate]:
    session.expire_all()
    return list(session.exec(select(Certificate).order_by(col(Certificate.id))).all())


def test_an_outage_delays_delivery_and_each_certificate_arrives_exactly_once(
    client: TestClient, staff: Staff, session: Session, flaky: FlakyVneid
) -> None:
    flaky.mode = "down"
    citizens = {serial: enrol_citizen(client, session, serial) for serial in (1, 2, 3)}
    for serial in citizens:
        certify(client, staff, register(client, staff, serial)["id"])
    assert metric_today(session, CERT_ADULTS) == 3

    hours = 0
    for _ in range(3):  # VNeID errs and times out: every attempt is rescheduled
        hours += 2
        assert deliver(client, later(hours)) == {"retry": 3}
    for certificate in _certificates(session):
        assert certificate.vneid_status == "pending"
        assert certificate.delivery_attempts == 3
        assert certificate.last_delivery_error
        assert certificate.next_delivery_at is not None
    assert metric_today(session, VNEID_ADULTS) == 0

    flaky.mode = "lost"  # VNeID records them, but the tracker never hears back
    hours += 2
    assert deliver(client, later(hours)) == {"retry": 3}
    flaky.mode = "up"
    hours += 2
    assert deliver(client, later(hours)) == {"delivered": 3}
    for _ in range(2):  # nothing is left to deliver
        hours += 2
        assert deliver(client, later(hours)) == {}

    certificates = _certificates(session)
    records = {r.credential_id: r for r in session.exec(select(VneidCertification)).all()}
    assert len(records) == 3
    for certificate in certificates:
        assert certificate.vneid_status == "delivered"
        assert certificate.next_delivery_at is None and certificate.last_delivery_error is None
        assert certificate.delivery_attempts == 5
        record = records[f"urn:uuid:{certificate.id}"]
        assert certificate.vneid_receipt_id == str(record.id)
    delivered = session.exec(
        select(AuditEvent.target_id).where(AuditEvent.action == "certificate.vneid_delivered")
    ).all()
    assert Counter(delivered) == Counter(str(c.id) for c in certificates)
    assert metric_today(session, VNEID_ADULTS) == 3

    # The citizen's VNeID app shows the one record, and the tracker shows the receipt.
    (shown,) = _vneid_app(client, citizens[1])
    assert shown["credential_id"] in records and shown["holder_name"] == "Nguyễn Văn An"


def test_vneid_refusals_are_final_and_revoked_certificates_stay_home(
    client: TestClient, staff: Staff, session: Session
) -> None:
    unknown = register(client, staff, 1)  # not in VNeID's registry
    certify(client, staff, unknown["id"])
    enrol_citizen(client, session, 2)
    revoked = certify(client, staff, register(client, staff, 2)["id"])
    response = client.post(
        f"/api/v1/certificates/{revoked['id']}/revoke",
        json={"reason": "Cấp nhầm"},
        headers=staff["hk_admin"],
    )
    assert response.status_code == 200
    assert deliver(client, later(1)) == {"rejected": 1}
    assert deliver(client, later(48)) == {}
    by_learner = {str(c.learner_id): c for c in _certificates(session)}
    refused = by_learner[unknown["id"]]
    assert refused.vneid_status == "rejected" and "422" in (refused.last_delivery_error or "")
    never_sent = by_learner[revoked["learner_id"]]
    assert never_sent.delivery_attempts == 0 and never_sent.vneid_status == "withdrawn"
    assert session.exec(select(func.count()).select_from(VneidCertification)).one() == 0
    shown = client.get(f"/api/v1/certificates/{refused.id}", headers=staff["hk_member"])
    assert shown.json()["vneid"]["status"] == "rejected"


def test_an_erased_person_keeps_counting_but_is_neither_named_nor_delivered(
    client: TestClient, staff: Staff, session: Session
) -> None:
    enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    erased = client.delete(f"/api/v1/learners/{learner['id']}", headers=staff["hk_admin"])
    assert erased.status_code == 204
    assert deliver(client, later(1)) == {}
    (stored,) = _certificates(session)
    assert stored.vneid_status == "rejected" and stored.last_delivery_error == "holder erased"
    assert stored.holder_name == "" and stored.credential is None
    check = client.get(f"/api/v1/certificates/{certificate['id']}/verify").json()
    assert check["holder_name"] == "" and check["valid"] is False
    assert metric_today(session, CERT_ADULTS) == 1


def test_the_worker_started_with_the_app_delivers_by_itself(
    settings: Settings, staff: Staff, session: Session
) -> None:
    working = settings.model_copy(update={"delivery_worker": True, "delivery_poll_seconds": 0.05})
    app = create_app(working)
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app) as client:
        enrol_citizen(client, session, 1)
        learner = register(client, staff, 1)
        certificate = certify(client, staff, learner["id"])
        path = f"/api/v1/certificates/{certificate['id']}"
        state = "pending"
        for _ in range(200):  # bounded: the worker polls every 50 ms
            response = client.get(path, headers=staff["hk_member"])
            assert response.status_code == 200, response.text
            state = response.json()["vneid"]["status"]
            if state == "delivered":
                break
            time.sleep(0.05)
        assert state == "delivered"


def test_deliver_command_drains_the_outbox_once(
    client: TestClient,
    staff: Staff,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certify(client, staff, register(client, staff, 1)["id"])
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KEYS_DIR", str(settings.keys_dir))
    # Nothing listens on the discard port: the attempt fails and is scheduled again.
    monkeypatch.setenv("VNEID_BASE_URL", "http://127.0.0.1:9/mock-vneid")
    monkeypatch.setenv("VNEID_CONNECT_RETRIES", "0")
    runner = CliRunner()
    first = runner.invoke(cli, ["deliver"])
    assert first.exit_code == 0, first.output
    assert "retry: 1" in first.output
    second = runner.invoke(cli, ["deliver"])
    assert "nothing due" in second.output
    (certificate,) = _certificates(session)
    assert certificate.delivery_attempts == 1 and certificate.vneid_status == "pending"
    assert isinstance(certificate.id, uuid.UUID) and isinstance(settings.keys_dir, Path)


def _vneid_app(client: TestClient, citizen_id: str) -> list[dict[str, object]]:
    """What the citizen's VNeID app shows."""
    signed_in = client.post(
        "/mock-vneid/oauth/token", data={"username": citizen_id, "password": PASSCODE}
    ).json()
    handle = jwt.decode(signed_in["id_token"], options={"verify_signature": False})["sub"]
    shown = client.get(
        f"/mock-vneid/api/citizens/{handle}/certifications",
        headers={"Authorization": f"Bearer {signed_in['access_token']}"},
    )
    assert shown.status_code == 200, shown.text
    items: list[dict[str, object]] = shown.json()["items"]
    return items


def test_a_revocation_reaches_the_citizens_vneid_app_through_an_outage(
    client: TestClient, staff: Staff, session: Session, flaky: FlakyVneid
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client, later(1)) == {"delivered": 1}
    assert metric_today(session, VNEID_ADULTS) == 1
    revoked = client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Gian lận khi kiểm tra"},
        headers=staff["hk_admin"],
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["vneid"]["status"] == "withdrawing"
    assert metric_today(session, VNEID_ADULTS) == 0

    flaky.mode = "down"  # VNeID cannot be told yet: its app still shows the certificate
    assert deliver(client, later(2)) == {"retry": 1}
    assert deliver(client, later(4)) == {"retry": 1}
    (shown,) = _vneid_app(client, citizen_id)
    assert shown["status"] == "valid"

    flaky.mode = "up"
    assert deliver(client, later(8)) == {"withdrawn": 1}
    assert deliver(client, later(24)) == {}
    (shown,) = _vneid_app(client, citizen_id)
    assert shown["status"] == "revoked"
    assert shown["revoked_reason"] == "Gian lận khi kiểm tra"
    assert shown["credential_id"] == f"urn:uuid:{certificate['id']}"
    (stored,) = _certificates(session)
    assert stored.vneid_status == "withdrawn" and stored.next_delivery_at is None
    assert stored.vneid_receipt_id == str(shown["receipt_id"])
    answer = client.get(f"/api/v1/certificates/{certificate['id']}", headers=staff["hk_member"])
    assert answer.json()["vneid"]["status"] == "withdrawn"
    withdrawn = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "certificate.vneid_withdrawn")
    ).one()
    assert withdrawn == 1


def test_a_certificate_revoked_while_its_delivery_was_under_way_is_withdrawn(
    client: TestClient, staff: Staff, session: Session, flaky: FlakyVneid
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    flaky.mode = "lost"  # VNeID takes it, but the answer never comes back
    assert deliver(client, later(1)) == {"retry": 1}
    revoked = client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Cấp nhầm người"},
        headers=staff["hk_admin"],
    )
    # An attempt was made, so VNeID may hold it: it must be told.
    assert revoked.json()["vneid"]["status"] == "withdrawing"
    flaky.mode = "up"
    assert deliver(client, later(3)) == {"withdrawn": 1}
    (shown,) = _vneid_app(client, citizen_id)
    assert shown["status"] == "revoked"


def test_a_delivery_answered_after_the_revocation_still_gets_withdrawn(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    box = outbox(client)
    (parcel,) = claim_due(box, now=later(1), limit=10)
    # The credential is on its way to VNeID when an admin revokes the certificate.
    client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Cấp nhầm"},
        headers=staff["hk_admin"],
    )
    assert client.portal is not None
    assert parcel.citizen_id is not None
    outcome = client.portal.call(
        lambda: box.vneid.deliver(credential=parcel.credential, citizen_id=parcel.citizen_id or "")
    )
    assert outcome.kind == "delivered"
    assert record_outcome(box, parcel, outcome, now=later(1)) == "delivered"
    assert deliver(client, later(2)) == {"withdrawn": 1}
    (shown,) = _vneid_app(client, citizen_id)
    assert shown["status"] == "revoked"
    (stored,) = _certificates(session)
    assert stored.vneid_status == "withdrawn" and stored.vneid_delivered_at is None
    assert metric_today(session, VNEID_ADULTS) == 0 and metric_today(session, CERT_ADULTS) == 0
