"""Walking the learner's VNeID sign-in with an HTTP client, as a browser would."""

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from app.vneid.flow import COOKIE_NAME
from tests.vneid_mock.oidc_helpers import AUTHORIZE, query_of


def start(client: TestClient) -> dict[str, str]:
    """Open /sign-in/vneid; answers the authorization request it sends the browser to."""
    response = client.get("/sign-in/vneid", follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert urlsplit(location).path == AUTHORIZE
    return query_of(location)


def flow_cookie(client: TestClient) -> dict[str, Any]:
    """What the signed flow cookie carries (signed, not secret: it stays in this browser)."""
    value = client.cookies[COOKIE_NAME]
    payload = value.split(".")[0]
    body: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return body


def sign_in_at_vneid(
    client: TestClient, request: dict[str, str], citizen_id: str, passcode: str
) -> dict[str, str]:
    """Submit VNeID's form; answers the query VNeID sends back to the callback."""
    response = client.post(
        AUTHORIZE,
        data={**request, "username": citizen_id, "password": passcode},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert urlsplit(location).path == "/sign-in/vneid/callback"
    return query_of(location)


def callback(client: TestClient, query: dict[str, str], **headers: str) -> httpx.Response:
    return client.get(
        "/sign-in/vneid/callback", params=query, headers=headers, follow_redirects=False
    )
