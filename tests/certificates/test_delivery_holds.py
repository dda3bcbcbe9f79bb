"""A delivery pass whose worker died gives its certificates up at once on PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.certificates.delivery import claim_due
from app.core import holds
from tests.certificates.helpers import certify, deliver, enrol_citizen, later, outbox, register
from tests.factories import Staff


def test_a_certificate_claimed_by_a_worker_that_died_is_sent_by_the_next_at_once(
    client: TestClient, staff: Staff, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no locks tied to a connection: a claim waits for its lease")
    enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    box = outbox(client)
    first, second = holds.Holder(box.engine), holds.Holder(box.engine)
    try:
        (parcel,) = claim_due(box, now=later(1), limit=10, holder=first)
        assert str(parcel.certificate_id) == certificate["id"]
        # While the first worker lives, another pass leaves its certificate alone.
        assert claim_due(box, now=later(1), limit=10, holder=second) == []
        # The first worker dies before VNeID answers; its lease would run on for a minute.
        first.close()
    finally:
        first.close()
        second.close()
    assert deliver(client, later(1)) == {"delivered": 1}
    shown = client.get(f"/api/v1/certificates/{certificate['id']}", headers=staff["hk_admin"])
    assert shown.json()["vneid"]["status"] == "delivered"
