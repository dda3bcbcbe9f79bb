"""The tracker as VNeID's relying party: state, nonce, PKCE and one use of each id_token."""

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.core.config import Settings
from app.main import create_app
from tests.certificates.helpers import PASSCODE, certify, enrol_citizen, register
from tests.factories import Staff
from tests.vneid_mock.oidc_helpers import TOKEN, authorization_request, exchange, query_of
from tests.web.learner.flow_helpers import (
    callback,
    flow_cookie,
    sign_in_at_vneid,
    start,
)


class TokenTap(httpx.AsyncBaseTransport):
    """The tracker's transport to VNeID, keeping the id_tokens VNeID answers; when `replay` is
    set, VNeID's token endpoint seems to answer that old token instead."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.id_tokens: list[str] = []
        self.replay: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path != TOKEN or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        self.id_tokens.append(body["id_token"])
        if self.replay is not None:
            body["id_token"] = self.replay
        return httpx.Response(200, json=body)


@pytest.fixture
def tapped(settings: Settings) -> Iterator[tuple[TestClient, TokenTap]]:
    app = create_app(settings)
    tap = TokenTap(httpx.ASGITransport(app=app))
    app.state.http_transport = tap
    with TestClient(app) as client:
        yield client, tap


def test_a_learner_signs_in_through_vneid_and_lands_on_their_page(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    certify(client, staff, learner["id"])
    assert client.get("/me", follow_redirects=False).headers["location"] == (
        "/sign-in/vneid?next=/me"
    )
    request = start(client)
    assert request["code_challenge_method"] == "S256" and request["nonce"]
    cookie = next(c for c in client.cookies.jar if c.name == "hocvuso_vneid_flow")
    assert cookie.path == "/sign-in/vneid" and cookie.has_nonstandard_attr("HttpOnly")
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    answer = callback(client, back)
    assert answer.status_code == 303 and answer.headers["location"] == "/me"
    page = client.get("/me")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and citizen_id not in page.text
    assert page.headers["cache-control"] == "no-store"
    # The flow is over: its cookie is gone, and the same answer from VNeID is refused.
    assert "hocvuso_vneid_flow" not in client.cookies
    assert client.get("/", follow_redirects=False).headers["location"] == "/me"


def test_a_callback_whose_state_is_not_this_browsers_is_refused(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    request = start(client)
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    forged = callback(client, {**back, "state": "an-attackers-state"})
    assert forged.status_code == 400
    assert "hocvuso_session" not in forged.headers.get("set-cookie", "")
    # Without the flow cookie at all (another browser), the genuine state is refused too.
    request = start(client)
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    client.cookies.delete("hocvuso_vneid_flow", path="/sign-in/vneid")
    elsewhere = callback(client, back)
    assert elsewhere.status_code == 400
    assert "hocvuso_session" not in client.cookies
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_an_id_token_with_another_nonce_is_refused(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    request = start(client)
    flow = flow_cookie(client)
    # The same state and PKCE challenge, but another nonce: as if an old answer were injected.
    other = authorization_request(
        settings, request["code_challenge"], state=request["state"], nonce="another-nonce"
    )
    back = sign_in_at_vneid(client, other, citizen_id, PASSCODE)
    refused = callback(client, back)
    assert refused.status_code == 401
    assert "hocvuso_session" not in client.cookies
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.vneid_rejected"))
    assert len(denied.all()) == 1
    assert flow["v"] and flow["n"] != "another-nonce"


def test_a_code_exchanged_by_someone_else_first_signs_no_one_in(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    request = start(client)
    flow = flow_cookie(client)
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    # The code was seen and used first (with the verifier, even): the callback's exchange fails.
    stolen = exchange(client, back["code"], flow["v"], request["redirect_uri"])
    assert stolen.status_code == 200
    refused = callback(client, back)
    assert refused.status_code == 401
    assert "hocvuso_session" not in client.cookies


def test_an_id_token_taken_by_the_callback_is_never_taken_again(
    tapped: tuple[TestClient, TokenTap], staff: Staff, session: Session
) -> None:
    client, tap = tapped
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    request = start(client)
    flow_cookie_value = client.cookies["hocvuso_vneid_flow"]
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    assert callback(client, back).status_code == 303
    (used,) = tap.id_tokens
    # Not through the API...
    api = client.post("/api/v1/auth/vneid", json={"id_token": used})
    assert api.status_code == 401
    # ...nor through the callback again: even with the first flow's cookie kept and VNeID
    # answering the same token again, state and nonce agree, but the token was taken.
    client.cookies.clear()
    client.cookies.set("hocvuso_vneid_flow", flow_cookie_value, path="/sign-in/vneid")
    tap.replay = used
    back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
    replayed = callback(client, back)
    assert replayed.status_code == 401
    assert "đã được dùng" in replayed.text
    assert "hocvuso_session" not in client.cookies
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.vneid_replayed"))
    assert len(events.all()) == 2


def test_an_unregistered_citizen_is_told_so(client: TestClient, session: Session) -> None:
    citizen_id = enrol_citizen(client, session, 7, full_name="Vũ Văn Nam")
    back = sign_in_at_vneid(client, start(client), citizen_id, PASSCODE)
    answer = callback(client, back)
    assert answer.status_code == 403
    assert "chưa được đăng ký" in answer.text
    assert "hocvuso_session" not in client.cookies


class Unreachable(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("VNeID unreachable", request=request)


def test_vneid_out_of_reach_is_said_plainly(settings: Settings) -> None:
    app = create_app(settings)
    app.state.http_transport = Unreachable()
    with TestClient(app) as client:
        answer = client.get("/sign-in/vneid", follow_redirects=False)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    assert "Không liên lạc được với VNeID" in answer.text
    assert "hocvuso_vneid_flow" not in answer.headers.get("set-cookie", "")


def test_after_sign_in_the_learner_goes_only_to_this_services_pages(
    client: TestClient, staff: Staff, session: Session
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    register(client, staff, 1)
    for target, landing in (
        ("/me/certificates", "/me/certificates"),
        ("//evil.example/me", "/me"),
        ("https://evil.example/", "/me"),
    ):
        client.cookies.clear()
        response = client.get("/sign-in/vneid", params={"next": target}, follow_redirects=False)
        request = query_of(response.headers["location"])
        back = sign_in_at_vneid(client, request, citizen_id, PASSCODE)
        answer = callback(client, back)
        assert answer.status_code == 303 and answer.headers["location"] == landing, target


def test_a_citizen_who_cancels_on_vneid_comes_back_signed_out(client: TestClient) -> None:
    request = start(client)
    page = client.get("/mock-vneid/authorize", params=request)
    link = re.search(r'<p class="cancel"><a href="([^"]+)"', page.text)
    assert link is not None
    back = query_of(html.unescape(link.group(1)))
    assert back["error"] == "access_denied" and back["state"] == request["state"]
    answer = callback(client, back)
    assert answer.status_code == 401
    assert "VNeID không xác nhận việc đăng nhập." in answer.text
    assert "hocvuso_session" not in client.cookies
