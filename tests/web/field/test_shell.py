"""The field app's shell over HTTP: what the service worker caches, with the pages' headers."""

import re

from fastapi.testclient import TestClient

from app.web.field.router import SHELL
from tests.factories import PASSWORD, Staff


def test_every_shell_file_is_served_and_the_page_carries_the_pages_headers(
    client: TestClient,
) -> None:
    for path in SHELL:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/field/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "same-origin"


def test_the_service_worker_lists_the_shell_under_its_version(client: TestClient) -> None:
    response = client.get("/field/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in response.text and "__SHELL__" not in response.text
    assert '"/static/vendor/idb-8.0.4/index.js"' in response.text


def test_a_file_outside_the_shell_is_not_found(client: TestClient) -> None:
    # Only the listed files are served: nothing else of the package's folder.
    assert client.get("/field/static/router.py").status_code == 404
    assert client.get("/field/static/sw.js").status_code == 404


def _sign_in(client: TestClient, username: str) -> None:
    """Sign in on the pages: the browser's cookie session."""
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/sign-in").text)
    assert token
    response = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _csrf(client: TestClient) -> dict[str, str]:
    answer = client.get("/field/session")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def test_the_pages_session_is_exchanged_for_the_apps_token_only_with_this_sites_token(
    client: TestClient, staff: Staff
) -> None:
    # Without a session: the API's 401, in its own problem+json, never a page.
    refused = client.post("/field/session", headers=_csrf(client) | {"Accept-Language": "en"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["title"] == "Not authenticated"
    assert "access_token" not in refused.text
    _sign_in(client, "hk_member")
    # No token, a wrong one, or another site's page: refused, nothing issued.
    for headers in (
        {},
        {"X-CSRF-Token": "0" * 64},
        _csrf(client) | {"Origin": "https://attacker.example"},
    ):
        answer = client.post("/field/session", headers=headers)
        assert answer.status_code == 403
        assert "access_token" not in answer.text
    answer = client.post("/field/session", headers=_csrf(client))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 60
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "hk_member"


def test_ending_the_session_from_the_app_signs_the_pages_out(
    client: TestClient, staff: Staff
) -> None:
    _sign_in(client, "hk_member")
    assert client.delete("/field/session").status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/field/"
    assert client.delete("/field/session", headers=_csrf(client)).status_code == 204
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    assert client.post("/field/session", headers=_csrf(client)).status_code == 401


def test_a_commune_admin_is_one_link_from_the_field_app(client: TestClient, staff: Staff) -> None:
    _sign_in(client, "hk_admin")
    home = client.get("/")
    assert home.status_code == 200 and home.url.path.startswith("/communes/")
    assert '<a href="/field/">Sổ tay tổ công nghệ số</a>' in home.text
    # Staff of a wider scope do not use it: no link.
    client.cookies.clear()
    _sign_in(client, "hn_admin")
    assert 'href="/field/"' not in client.get("/").text
