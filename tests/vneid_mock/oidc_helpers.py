"""Driving the mock VNeID's authorization-code flow as a browser and a relying party would."""

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from app.core.config import Settings

AUTHORIZE = "/mock-vneid/authorize"
TOKEN = "/mock-vneid/oauth/token"


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def callback_uri(settings: Settings) -> str:
    return settings.base_url + "/sign-in/vneid/callback"


def authorization_request(settings: Settings, challenge: str, **changes: Any) -> dict[str, str]:
    params = {
        "response_type": "code",
        "scope": "openid",
        "client_id": settings.vneid_client_id,
        "redirect_uri": callback_uri(settings),
        "state": "state-" + secrets.token_urlsafe(8),
        "nonce": "nonce-" + secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **changes,
    }
    return {k: v for k, v in params.items() if v is not None}


def sign_in(
    client: TestClient, params: dict[str, str], citizen_id: str, passcode: str, **headers: str
) -> httpx.Response:
    """Submit the mock's sign-in form as the page would."""
    return client.post(
        AUTHORIZE,
        data={**params, "username": citizen_id, "password": passcode},
        headers=headers,
        follow_redirects=False,
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_for(
    client: TestClient, settings: Settings, citizen_id: str, passcode: str
) -> tuple[str, str, dict[str, str]]:
    """Sign in through the form; answers the code, the verifier and the request sent."""
    verifier, challenge = pkce()
    params = authorization_request(settings, challenge)
    response = sign_in(client, params, citizen_id, passcode)
    assert response.status_code == 303, response.text
    query = query_of(response.headers["location"])
    assert query["state"] == params["state"]
    return query["code"], verifier, params


def exchange(
    client: TestClient, code: str, verifier: str, redirect_uri: str, client_id: str = "hocvuso"
) -> httpx.Response:
    return client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
        },
    )
