"""Certificates keep verifying after the service moves to a new public address."""

import httpx
import jwt
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.core.signing import KeyRing
from app.main import create_app
from tests.certificates.helpers import PASSCODE, certify, deliver, enrol_citizen, later, register
from tests.factories import Staff

NEW_ADDRESS = "https://binhdanhocvuso.example.vn"


def _vneid_app(client: TestClient, citizen_id: str) -> list[dict[str, object]]:
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


def test_certificates_issued_before_a_new_address_still_verify_and_deliver(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    old_address = settings.base_url
    delivered_id = enrol_citizen(client, session, 1)
    delivered = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client, later(1)) == {"delivered": 1}
    waiting_id = enrol_citizen(client, session, 2, full_name="Trần Thị Bình")
    waiting = certify(client, staff, register(client, staff, 2, full_name="Trần Thị Bình")["id"])

    app = create_app(settings.model_copy(update={"public_base_url": NEW_ADDRESS}))
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app) as moved:
        for certificate in (delivered, waiting):
            check = moved.get(f"/api/v1/certificates/{certificate['id']}/verify")
            assert check.status_code == 200
            assert check.json()["status"] == "valid" and check.json()["valid"] is True
            assert check.json()["issuer"] == old_address
            page = moved.get(f"/certificates/{certificate['id']}")
            assert "HỢP LỆ / VALID" in page.text and "NOT VERIFIED" not in page.text
        # The one issued before the move reaches VNeID, which checks it against its issuer.
        assert deliver(moved, later(2)) == {"delivered": 1}
        (shown,) = _vneid_app(moved, waiting_id)
        assert shown["issuer"] == old_address and shown["status"] == "valid"
        # A revocation of a credential issued as the old address withdraws it from VNeID.
        revoked = moved.post(
            f"/api/v1/certificates/{delivered['id']}/revoke",
            json={"reason": "Cấp nhầm người"},
            headers=staff["hk_admin"],
        )
        assert revoked.status_code == 200, revoked.text
        assert deliver(moved, later(3)) == {"withdrawn": 1}
        (withdrawn,) = _vneid_app(moved, delivered_id)
        assert withdrawn["status"] == "revoked"
        # A new certificate is issued as the new address, and both are listed.
        enrol_citizen(moved, session, 3, full_name="Lê Văn Cường")
        fresh = certify(moved, staff, register(moved, staff, 3, full_name="Lê Văn Cường")["id"])
        check = moved.get(f"/api/v1/certificates/{fresh['id']}/verify").json()
        assert check["valid"] is True and check["issuer"] == NEW_ADDRESS
        listed = moved.get("/.well-known/credential-issuers.json").json()
        assert listed == {"current": NEW_ADDRESS, "issuers": sorted([old_address, NEW_ADDRESS])}


def test_a_credential_from_an_unknown_issuer_is_refused_by_vneid(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    certify(client, staff, register(client, staff, 1)["id"])
    # An address the service never used, signed with the service's own key: still refused.
    keys = KeyRing(settings.keys_dir, prefix="hocvuso", create=False)
    payload = {
        "iss": "https://gia-mao.example",
        "sub": "urn:uuid:00000000-0000-0000-0000-000000000001",
        "jti": "urn:uuid:00000000-0000-0000-0000-000000000002",
        "id": "urn:uuid:00000000-0000-0000-0000-000000000002",
        "iat": 1764547200,
        "credentialSubject": {"name": "Nguyễn Văn An", "achievement": {}},
    }
    token, _ = keys.sign(payload, typ="vc+jwt")
    answer = client.post(
        "/mock-vneid/api/certifications", json={"credential": token, "citizen_id": citizen_id}
    )
    assert answer.status_code == 422, answer.text


def test_an_erased_holders_certificate_answers_erased_everywhere(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    erased = client.delete(f"/api/v1/learners/{learner['id']}", headers=staff["hk_admin"])
    assert erased.status_code == 204
    check = client.get(f"/api/v1/certificates/{certificate['id']}/verify").json()
    assert check["status"] == "erased" and check["valid"] is False
    assert check["holder_name"] == ""
    page = client.get(f"/certificates/{certificate['id']}")
    assert page.status_code == 200
    assert "ERASED" in page.text and "HỢP LỆ / VALID" not in page.text
