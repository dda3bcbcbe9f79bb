"""The mock VNeID on its own terms: registry, sign-in, intake, a citizen's list."""

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import jwt
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.certificates.models import Certificate
from app.core.config import Settings
from app.core.signing import KeyRing
from app.seed import seed_all
from app.vneid_mock.main import create_mock_app
from app.vneid_mock.models import VneidCertification, VneidCitizen
from tests.certificates.helpers import (
    PASSCODE,
    certify,
    deliver,
    enrol_citizen,
    outbox,
    register,
)
from tests.factories import Staff

DEMO_CITIZEN = "001085000101"  # seed/vneid_citizens.toml
ISSUER = "http://127.0.0.1:8000/mock-vneid"


def _sign_in(client: TestClient, citizen_id: str, passcode: str = PASSCODE) -> httpx.Response:
    return client.post(
        "/mock-vneid/oauth/token",
        data={"grant_type": "password", "username": citizen_id, "password": passcode},
    )


def test_identity_check_matches_id_name_and_birth_date(
    client: TestClient, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1, full_name="Trần Thị Bình", sex="female")
    check = {"citizen_id": citizen_id, "full_name": "trần thị  bình", "birth_date": "1985-04-12"}
    assert client.post("/mock-vneid/api/citizens/verify", json=check).json() == {"match": True}
    for change in (
        {"full_name": "Tran Thi Binh"},
        {"birth_date": "1985-04-13"},
        {"citizen_id": "001185000999"},
    ):
        answer = client.post("/mock-vneid/api/citizens/verify", json={**check, **change})
        assert answer.json() == {"match": False}, change
    bad = client.post("/mock-vneid/api/citizens/verify", json={**check, "citizen_id": "98765"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "98765" not in bad.text


def test_sign_in_answers_an_id_token_signed_with_the_mocks_own_key(
    client: TestClient, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    assert _sign_in(client, citizen_id, "wrong").status_code == 401
    assert _sign_in(client, "001085999999").status_code == 401
    other_client = client.post(
        "/mock-vneid/oauth/token",
        data={"username": citizen_id, "password": PASSCODE, "client_id": "someone-else"},
    )
    assert other_client.status_code == 401
    response = _sign_in(client, citizen_id)
    assert response.status_code == 200, response.text
    id_token = response.json()["id_token"]
    mock_keys = client.get("/mock-vneid/.well-known/jwks.json").json()
    tracker_keys = client.get("/.well-known/jwks.json").json()
    assert {k["kid"] for k in mock_keys["keys"]}.isdisjoint(k["kid"] for k in tracker_keys["keys"])
    header = jwt.get_unverified_header(id_token)
    key = jwt.PyJWKSet.from_dict(mock_keys)[header["kid"]]
    claims = jwt.decode(id_token, key.key, algorithms=["ES256"], audience="hocvuso", issuer=ISSUER)
    assert claims["citizen_id"] == citizen_id and claims["name"] == "Nguyễn Văn An"
    assert claims["birthdate"] == "1985-04-12"


def test_intake_refuses_duplicates_unknown_citizens_and_wrong_holders(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client) == {"delivered": 1}
    receipt = client.get(
        f"/api/v1/certificates/{certificate['id']}", headers=staff["hk_member"]
    ).json()["vneid"]["receipt_id"]

    again = client.post(
        "/mock-vneid/api/certifications",
        json={"credential": certificate["credential"], "citizen_id": citizen_id},
    )
    assert again.status_code == 409
    assert again.json()["receipt_id"] == receipt
    assert again.json()["type"] == "urn:hocvuso:problem:vneid-duplicate"

    stranger = register(client, staff, 2)  # a learner VNeID does not know
    unknown = certify(client, staff, stranger["id"])
    refused = client.post(
        "/mock-vneid/api/certifications",
        json={"credential": unknown["credential"], "citizen_id": "001085000002"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == "This citizen is not known to VNeID."

    someone_else = enrol_citizen(client, session, 3, full_name="Lê Văn Cường")
    mismatch = client.post(
        "/mock-vneid/api/certifications",
        json={"credential": unknown["credential"], "citizen_id": someone_else},
        headers={"Accept-Language": "en"},
    )
    assert mismatch.status_code == 422
    assert "name" in mismatch.json()["detail"]


def test_a_citizen_sees_only_their_own_certifications(
    client: TestClient, staff: Staff, session: Session
) -> None:
    first = enrol_citizen(client, session, 1)
    second = enrol_citizen(client, session, 2, full_name="Phạm Thị Hoa", sex="female")
    certify(client, staff, register(client, staff, 1)["id"])
    deliver(client)
    own = _sign_in(client, first).json()
    other = _sign_in(client, second).json()
    handle = jwt.decode(own["id_token"], options={"verify_signature": False})["sub"]
    path = f"/mock-vneid/api/citizens/{handle}/certifications"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert (
        client.get(path, headers={"Authorization": f"Bearer {other['access_token']}"}).status_code
        == 404
    )
    # The id_token is for the tracker, not for the mock's own API.
    assert (
        client.get(path, headers={"Authorization": f"Bearer {own['id_token']}"}).status_code == 401
    )
    listed = client.get(path, headers={"Authorization": f"Bearer {own['access_token']}"})
    assert listed.status_code == 200
    assert [item["holder_name"] for item in listed.json()["items"]] == ["Nguyễn Văn An"]


def test_seed_fills_the_demo_registry_once(client: TestClient, session: Session) -> None:
    before = session.exec(select(func.count()).select_from(VneidCitizen)).one()
    assert before >= 4
    counts = seed_all(session, settings=client.app.state.settings)  # type: ignore[attr-defined]
    session.commit()
    assert counts["vneid_citizens"] == 0
    assert session.exec(select(func.count()).select_from(VneidCitizen)).one() == before
    assert _sign_in(client, DEMO_CITIZEN, "123456").status_code == 200


def test_the_mock_serves_alone(settings: Settings) -> None:
    with TestClient(create_mock_app(settings)) as alone:
        keys = alone.get("/.well-known/jwks.json").json()["keys"]
        assert keys and all("d" not in key for key in keys)
        check = {
            "citizen_id": DEMO_CITIZEN,
            "full_name": "Nguyễn Văn An",
            "birth_date": "1985-04-12",
        }
        assert alone.post("/api/citizens/verify", json=check).json() == {"match": True}
        assert date.fromisoformat(check["birth_date"]).year == 1985


def test_revocation_takes_only_the_issuers_signed_notice(
    client: TestClient, staff: Staff, session: Session, tmp_path: Path
) -> None:
    enrol_citizen(client, session, 1)
    certificate = certify(client, staff, register(client, staff, 1)["id"])
    assert deliver(client) == {"delivered": 1}
    signer = outbox(client).signer
    stored = session.get(Certificate, uuid.UUID(certificate["id"]))
    assert stored is not None
    session.expunge(stored)  # a detached copy to sign notices from, never written back
    stored.revoked_at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    stored.revoked_reason = "Cấp nhầm"
    revocations = "/mock-vneid/api/certifications/revocations"
    english = {"Accept-Language": "en"}

    # The credential itself is not a notice; neither is one signed by a key the tracker lacks.
    as_notice = client.post(
        revocations, json={"notice": certificate["credential"]}, headers=english
    )
    assert as_notice.status_code == 422
    stranger = KeyRing(tmp_path / "forger-keys", prefix="forger", create=True)
    forged, _ = stranger.sign(
        {
            "iss": "http://127.0.0.1:8000",
            "sub": f"urn:uuid:{certificate['id']}",
            "iat": int(datetime.now(UTC).timestamp()),
            "revoked_at": "2026-11-20T03:00:00Z",
        },
        typ="revocation+jwt",
    )
    assert client.post(revocations, json={"notice": forged}).status_code == 422
    tampered = signer.revocation_notice(stored).split(".")
    tampered[1] = tampered[1][:-4] + ("AAAA" if tampered[1][-4:] != "AAAA" else "BBBB")
    assert client.post(revocations, json={"notice": ".".join(tampered)}).status_code == 422

    unknown = Certificate.model_validate(
        stored.model_dump() | {"id": uuid.uuid4()}, update={"revoked_at": stored.revoked_at}
    )
    missing = client.post(
        revocations, json={"notice": signer.revocation_notice(unknown)}, headers=english
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "The certification in VNeID was not found."
    record = session.exec(select(VneidCertification)).one()
    assert record.revoked_at is None

    first = client.post(revocations, json={"notice": signer.revocation_notice(stored)})
    assert first.status_code == 200, first.text
    stored.revoked_reason = "Another reason later"
    again = client.post(revocations, json={"notice": signer.revocation_notice(stored)})
    assert again.status_code == 200 and again.json() == first.json()
    session.expire_all()
    record = session.exec(select(VneidCertification)).one()
    assert record.revoked_reason == "Cấp nhầm"
    assert record.revoked_at == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
