"""Learners sign in with VNeID and see their own progress and certificates, nothing more."""

import base64
import string
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.signing import KeyRing
from app.main import create_app
from tests.certificates.helpers import PASSCODE, certify, enrol_citizen, register
from tests.factories import (
    CITIZEN_COURSES,
    CITIZEN_PROGRAM,
    HN_HOAN_KIEM,
    Staff,
    complete,
    learner_payload,
)


def _id_token(client: TestClient, citizen_id: str) -> str:
    response = client.post(
        "/mock-vneid/oauth/token", data={"username": citizen_id, "password": PASSCODE}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["id_token"]
    return token


def _learner_headers(client: TestClient, citizen_id: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/vneid", json={"id_token": _id_token(client, citizen_id)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_a_learner_signs_in_with_vneid_and_sees_what_remains(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    for course in CITIZEN_COURSES[:3]:
        complete(client, staff["hk_member"], learner["id"], course)
    complete(client, staff["hk_member"], learner["id"], CITIZEN_COURSES[3], score=20)
    headers = _learner_headers(client, citizen_id)

    progress = client.get("/api/v1/me/progress", headers=headers).json()
    assert progress["learner_id"] == learner["id"]
    assert {c["course_code"] for c in progress["courses_done"]} == set(CITIZEN_COURSES[:4])
    programs = {p["program_code"]: p for p in progress["programs"]}
    citizen = programs[CITIZEN_PROGRAM]
    assert citizen["for_my_groups"] is True and citizen["attained"] is False
    assert (citizen["required"], citizen["done"]) == (7, 3)
    remaining = {c["course_code"]: c["best_score"] for c in citizen["remaining"]}
    assert remaining == {
        CITIZEN_COURSES[3]: 20,
        **{code: None for code in CITIZEN_COURSES[4:]},
    }
    assert programs["CHUAN-CBCCVC"]["for_my_groups"] is False
    assert client.get("/api/v1/me/certificates", headers=headers).json()["items"] == []

    certificate = certify(client, staff, learner["id"])
    mine = client.get("/api/v1/me/certificates", headers=headers).json()["items"]
    assert [c["id"] for c in mine] == [certificate["id"]]
    assert mine[0]["credential"] == certificate["credential"]
    progress = client.get("/api/v1/me/progress", headers=headers).json()
    citizen = next(p for p in progress["programs"] if p["program_code"] == CITIZEN_PROGRAM)
    assert citizen["attained"] and citizen["certificate_id"] == certificate["id"]
    printable = client.get(f"/api/v1/me/certificates/{certificate['id']}/print", headers=headers)
    assert printable.status_code == 200 and "Nguyễn Văn An" in printable.text


def test_a_learner_sees_only_their_own_records(
    client: TestClient, staff: Staff, session: Session
) -> None:
    mine = enrol_citizen(client, session, 1)
    enrol_citizen(client, session, 2, full_name="Đỗ Thị Mai", sex="female")
    me = register(client, staff, 1)
    other = register(client, staff, 2, full_name="Đỗ Thị Mai", sex="female")
    others_certificate = certify(client, staff, other["id"])
    headers = _learner_headers(client, mine)
    assert client.get("/api/v1/me/certificates", headers=headers).json()["items"] == []
    assert client.get("/api/v1/me/progress", headers=headers).json()["learner_id"] == me["id"]
    other_print = f"/api/v1/me/certificates/{others_certificate['id']}/print"
    assert client.get(other_print, headers=headers).status_code == 404
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "me.certificate_denied"))
    assert [event.target_id for event in denied] == [others_certificate["id"]]
    # Staff endpoints refuse a learner's token, whatever they would show: signed in, but
    # not allowed (403).
    for path in (
        "/api/v1/auth/me",
        "/api/v1/learners",
        f"/api/v1/learners/{me['id']}",
        f"/api/v1/learners/{other['id']}/certificates",
        f"/api/v1/certificates/{others_certificate['id']}",
        "/api/v1/stats/national",
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}",
        "/api/v1/deliveries",
    ):
        refused = client.get(path, headers=headers | {"Accept-Language": "en"})
        assert refused.status_code == 403, path
        assert refused.json()["detail"] == "A learner's sign-in does not open staff endpoints."
    revoke = client.post(
        f"/api/v1/certificates/{others_certificate['id']}/revoke",
        json={"reason": "không phải của tôi"},
        headers=headers,
    )
    assert revoke.status_code == 403
    # And learner endpoints refuse staff tokens the same way.
    for path in ("/api/v1/me/progress", "/api/v1/me/certificates"):
        refused = client.get(path, headers=staff["national"])
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/me/progress").status_code == 401


def _forge(settings: Settings, **changes: Any) -> str:
    """An id_token signed with the mock's own key, with some claims changed."""
    keys = KeyRing(settings.mock_keys_dir, prefix="vneid", create=False)
    now = datetime.now(UTC)
    claims = {
        "iss": settings.vneid_issuer,
        "aud": settings.vneid_client_id,
        "sub": "7b6f5a0e-0000-4000-8000-000000000001",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "citizen_id": "001085000001",
    }
    claims.update(changes)
    return keys.sign({k: v for k, v in claims.items() if v is not None}, typ="JWT")[0]


def test_only_genuine_fresh_id_tokens_for_this_tracker_are_taken(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    genuine = _id_token(client, citizen_id)
    header, payload, signature = genuine.split(".")
    hour_ago = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    refused = {
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "expired": _forge(settings, exp=hour_ago, iat=hour_ago - 600),
        "other audience": _forge(settings, aud="another-service"),
        "other issuer": _forge(settings, iss="https://vneid.example"),
        "no expiry": _forge(settings, exp=None),
        "certificate": certificate["credential"],
        "staff access token": staff["hk_member"]["Authorization"].removeprefix("Bearer "),
        "garbage": "abc",
    }
    for name, token in refused.items():
        response = client.post("/api/v1/auth/vneid", json={"id_token": token})
        assert response.status_code == 401, name
    assert client.post("/api/v1/auth/vneid", json={"id_token": _forge(settings)}).status_code == 200

    stranger = enrol_citizen(client, session, 5, full_name="Vũ Văn Nam")
    unregistered = client.post(
        "/api/v1/auth/vneid",
        json={"id_token": _id_token(client, stranger)},
        headers={"Accept-Language": "en"},
    )
    assert unregistered.status_code == 403
    assert "not registered" in unregistered.json()["detail"]


class VneidDown(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path.startswith("/mock-vneid/"):
            raise httpx.ConnectError("VNeID unreachable", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def checking(settings: Settings) -> Iterator[tuple[TestClient, VneidDown]]:
    app = create_app(settings.model_copy(update={"vneid_check_identity": True}))
    transport = VneidDown(httpx.ASGITransport(app=app))
    app.state.http_transport = transport
    with TestClient(app) as client:
        yield client, transport


def test_registration_can_check_identity_with_vneid_first(
    checking: tuple[TestClient, VneidDown], staff: Staff, session: Session
) -> None:
    client, transport = checking
    headers = staff["hk_member"]
    citizen_id = enrol_citizen(client, session, 1)
    id_token = _id_token(client, citizen_id)
    mismatch = client.post(
        "/api/v1/learners",
        json=learner_payload("00070", 1, full_name="Nguyễn Văn Anh"),
        headers={**headers, "Accept-Language": "en"},
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["loc"] == ["body", "citizen_id"]
    transport.down = True
    unavailable = client.post("/api/v1/learners", json=learner_payload("00070", 1), headers=headers)
    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"]
    # Sign-in cannot check the token without VNeID's keys either.
    signing_in = client.post("/api/v1/auth/vneid", json={"id_token": id_token})
    assert signing_in.status_code == 503
    transport.down = False
    created = client.post("/api/v1/learners", json=learner_payload("00070", 1), headers=headers)
    assert created.status_code == 201, created.text


def test_phone_sync_checks_identity_record_by_record(
    checking: tuple[TestClient, VneidDown], staff: Staff, session: Session
) -> None:
    client, transport = checking
    headers = {**staff["hk_member"], "Accept-Language": "en"}
    enrol_citizen(client, session, 1)
    enrol_citizen(client, session, 2)
    confirmed = {**learner_payload("00070", 1), "client_id": str(uuid.uuid4())}
    misnamed = {
        **learner_payload("00070", 2, full_name="Trần Thị Bình"),
        "client_id": str(uuid.uuid4()),
    }
    unknown = {**learner_payload("00070", 3), "client_id": str(uuid.uuid4())}
    answer = client.post(
        "/api/v1/sync", json={"learners": [confirmed, misnamed, unknown]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected"]
    assert results[1]["problem"]["status"] == 422
    assert results[1]["problem"]["errors"][0]["loc"][-1] == "citizen_id"

    # While VNeID is down a new person waits; a record already stored is still recognised.
    transport.down = True
    later = {**learner_payload("00070", 2), "client_id": str(uuid.uuid4())}
    outage = client.post("/api/v1/sync", json={"learners": [confirmed, later]}, headers=headers)
    assert [r["status"] for r in outage.json()["results"]] == ["duplicate", "rejected"]
    assert outage.json()["results"][0]["id"] == results[0]["id"]
    assert outage.json()["results"][1]["problem"]["status"] == 503
    transport.down = False
    resent = client.post("/api/v1/sync", json={"learners": [later]}, headers=headers)
    assert resent.json()["results"][0]["status"] == "created"
    listed = client.get("/api/v1/learners", headers=headers).json()["items"]
    assert sorted(item["citizen_id_masked"][-4:] for item in listed) == sorted(
        r["citizen_id"][-4:] for r in (confirmed, later)
    )


def test_an_id_token_is_accepted_once(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    id_token = _id_token(client, citizen_id)
    first = client.post("/api/v1/auth/vneid", json={"id_token": id_token})
    assert first.status_code == 200, first.text
    replayed = client.post(
        "/api/v1/auth/vneid", json={"id_token": id_token}, headers={"Accept-Language": "en"}
    )
    assert replayed.status_code == 401
    assert replayed.headers["content-type"].startswith("application/problem+json")
    assert "already used" in replayed.json()["detail"]
    # The same signature spelt differently is the same token; one without a jti too.
    forged = _forge(settings, citizen_id=citizen_id)
    assert client.post("/api/v1/auth/vneid", json={"id_token": forged}).status_code == 200
    header, payload, signature = forged.split(".")
    # The signature's length leaves unused bits in its last character: flipping the lowest
    # one spells the same bytes differently.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    respelt_signature = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    respelt = f"{header}.{payload}.{respelt_signature}"
    padding = "=" * (-len(signature) % 4)
    assert respelt_signature != signature
    assert base64.urlsafe_b64decode(signature + padding) == base64.urlsafe_b64decode(
        respelt_signature + padding
    )
    respelt_answer = client.post(
        "/api/v1/auth/vneid", json={"id_token": respelt}, headers={"Accept-Language": "en"}
    )
    assert respelt_answer.status_code == 401
    assert "already used" in respelt_answer.json()["detail"]
    assert client.post("/api/v1/auth/vneid", json={"id_token": forged}).status_code == 401
    denials = session.exec(
        select(AuditEvent).where(AuditEvent.action == "auth.vneid_replayed")
    ).all()
    assert len(denials) == 3 and all(d.outcome == "denied" for d in denials)
    # A fresh token from a new sign-in is welcome.
    assert (
        client.post("/api/v1/auth/vneid", json={"id_token": _id_token(client, citizen_id)})
    ).status_code == 200


def test_an_id_token_sent_many_times_at_once_is_accepted_once(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    id_token = _id_token(client, citizen_id)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/api/v1/auth/vneid", json={"id_token": id_token}),
                range(6),
            )
        )
    assert sorted(a.status_code for a in answers) == [200] + [401] * 5
