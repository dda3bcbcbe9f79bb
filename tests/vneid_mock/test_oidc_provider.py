"""The mock VNeID as an OpenID Connect provider: code flow with PKCE, and its throttle."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.main import create_app
from tests.certificates.helpers import PASSCODE, enrol_citizen
from tests.vneid_mock.oidc_helpers import (
    AUTHORIZE,
    TOKEN,
    authorization_request,
    callback_uri,
    code_for,
    exchange,
    pkce,
    query_of,
    sign_in,
)

ISSUER = "http://127.0.0.1:8000/mock-vneid"


def _claims(client: TestClient, id_token: str) -> dict[str, object]:
    keys = jwt.PyJWKSet.from_dict(client.get("/mock-vneid/.well-known/jwks.json").json())
    key = keys[jwt.get_unverified_header(id_token)["kid"]]
    claims: dict[str, object] = jwt.decode(
        id_token, key.key, algorithms=["ES256"], audience="hocvuso", issuer=ISSUER
    )
    return claims


def test_the_discovery_document_names_the_code_flow_with_pkce(client: TestClient) -> None:
    metadata = client.get("/mock-vneid/.well-known/openid-configuration").json()
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in metadata["grant_types_supported"]
    # The advertised keys are the ones that verify the tokens.
    assert client.get("/mock-vneid/.well-known/jwks.json").json()["keys"]


def test_a_citizen_signs_in_on_the_page_and_the_client_exchanges_the_code_once(
    client: TestClient, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    verifier, challenge = pkce()
    params = authorization_request(settings, challenge)
    page = client.get(AUTHORIZE, params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert params["state"] in page.text and '<html lang="vi">' in page.text
    english = client.get(AUTHORIZE, params={**params, "ui_locales": "en"})
    assert "Personal ID number" in english.text

    signed_in = sign_in(client, params, citizen_id, PASSCODE)
    assert signed_in.status_code == 303
    location = signed_in.headers["location"]
    assert location.startswith(callback_uri(settings) + "?")
    assert citizen_id not in location
    query = query_of(location)
    assert query["state"] == params["state"] and query["iss"] == ISSUER

    answer = exchange(client, query["code"], verifier, callback_uri(settings))
    assert answer.status_code == 200, answer.text
    claims = _claims(client, answer.json()["id_token"])
    assert claims["nonce"] == params["nonce"] and claims["citizen_id"] == citizen_id
    assert claims["jti"]

    again = exchange(client, query["code"], verifier, callback_uri(settings))
    assert again.status_code == 400
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "change",
    ["verifier", "redirect_uri", "unknown code"],
)
def test_a_code_is_refused_without_its_verifier_or_redirect_uri_and_is_then_spent(
    client: TestClient, session: Session, settings: Settings, change: str
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    code, verifier, _ = code_for(client, settings, citizen_id, PASSCODE)
    wrong = {
        "verifier": (code, pkce()[0], callback_uri(settings)),
        "redirect_uri": (code, verifier, settings.base_url + "/elsewhere"),
        "unknown code": (code + "x", verifier, callback_uri(settings)),
    }[change]
    refused = exchange(client, *wrong, **{})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["type"] == "urn:hocvuso:problem:vneid-invalid-grant"
    if change != "unknown code":
        # A code tried with the wrong proof cannot be tried again, even with the right one.
        assert exchange(client, code, verifier, callback_uri(settings)).status_code == 400


def test_a_code_is_for_its_own_client_and_expires_within_a_minute(
    client: TestClient, session: Session, settings: Settings
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    code, verifier, _ = code_for(client, settings, citizen_id, PASSCODE)
    other = exchange(client, code, verifier, callback_uri(settings), client_id="someone-else")
    assert other.status_code == 401
    code, verifier, _ = code_for(client, settings, citizen_id, PASSCODE)
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        late = exchange(client, code, verifier, callback_uri(settings))
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_bad_authorization_requests_never_reach_the_sign_in_form(
    client: TestClient, settings: Settings
) -> None:
    _, challenge = pkce()
    # An unknown client or a redirect URI it did not register: a page, never a redirect.
    for change in (
        {"client_id": "someone-else"},
        {"redirect_uri": "https://evil.example/callback"},
    ):
        params = authorization_request(settings, challenge, **change)
        page = client.get(AUTHORIZE, params=params, follow_redirects=False)
        assert page.status_code == 400, change
        assert 'name="password"' not in page.text
        posted = sign_in(client, params, "001085000001", PASSCODE)
        assert posted.status_code == 400, change
    # A known client's bad request goes back to it with the OAuth error and its state.
    for change, error in (
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
    ):
        params = authorization_request(settings, challenge, **change)
        answer = client.get(AUTHORIZE, params=params, follow_redirects=False)
        assert answer.status_code == 303, change
        query = query_of(answer.headers["location"])
        assert query["error"] == error and query["state"] == params["state"]
        assert answer.headers["location"].startswith(callback_uri(settings))


@pytest.fixture
def strict(settings: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(
            update={"mock_vneid_max_failures": 3, "mock_vneid_max_failures_per_address": 5}
        )
    )
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app) as client:
        yield client


def test_wrong_passcodes_are_throttled_per_citizen_on_the_page_and_the_token_endpoint(
    strict: TestClient, session: Session, settings: Settings
) -> None:
    client = strict
    citizen_id = enrol_citizen(client, session, 1)
    neighbour = enrol_citizen(client, session, 2, full_name="Lê Văn Bình")
    _, challenge = pkce()
    params = authorization_request(settings, challenge)
    wrong = sign_in(client, params, citizen_id, "000000")
    assert wrong.status_code == 401
    assert "mật mã VNeID không đúng" in wrong.text and citizen_id not in wrong.text
    assert 'role="alert"' in wrong.text
    for _ in range(2):
        assert sign_in(client, params, citizen_id, "000000").status_code == 401
    # The fourth attempt is refused whatever the passcode, with how long to wait.
    locked = sign_in(client, params, citizen_id, PASSCODE, **{"Accept-Language": "en"})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "Too many wrong passcodes" in locked.text and 'name="password"' in locked.text
    grant = client.post(TOKEN, data={"username": citizen_id, "password": PASSCODE})
    assert grant.status_code == 429 and grant.headers["retry-after"]
    assert grant.headers["content-type"].startswith("application/problem+json")
    assert citizen_id not in grant.text
    # Another citizen is not locked out by this one's mistakes...
    assert sign_in(client, params, neighbour, PASSCODE).status_code == 303
    # ...and the window passes.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert sign_in(client, params, citizen_id, PASSCODE).status_code == 303


def test_wrong_passcodes_are_throttled_per_client_address(
    strict: TestClient, session: Session, settings: Settings
) -> None:
    client = strict
    citizens = [enrol_citizen(client, session, n) for n in range(1, 5)]
    # A correct sign-in takes nothing from the address's allowance.
    for _ in range(3):
        answer = client.post(TOKEN, data={"username": citizens[0], "password": PASSCODE})
        assert answer.status_code == 200
    for citizen_id in citizens[1:]:
        wrong = client.post(TOKEN, data={"username": citizen_id, "password": "000000"})
        assert wrong.status_code == 401
    for citizen_id in ("001085999990", "001085999991"):
        wrong = client.post(TOKEN, data={"username": citizen_id, "password": "000000"})
        assert wrong.status_code == 401
    # Five wrong ones from this address, over several citizens: the address waits.
    locked = client.post(TOKEN, data={"username": citizens[0], "password": PASSCODE})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_concurrent_wrong_passcodes_check_no_more_than_the_limit(
    strict: TestClient, session: Session
) -> None:
    citizen_id = enrol_citizen(strict, session, 1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda _: strict.post(TOKEN, data={"username": citizen_id, "password": "000000"}),
                range(12),
            )
        )
    statuses = sorted(a.status_code for a in answers)
    # Each attempt is counted before its passcode is checked: three checks, nine refusals.
    assert statuses == [401] * 3 + [429] * 9
