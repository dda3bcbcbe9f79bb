"""Changing one's own password through the API."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from tests.factories import PASSWORD, Staff, login


def _token(client: TestClient, username: str, password: str) -> int:
    return client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    ).status_code


def test_a_changed_password_replaces_the_old_one_and_is_audited(
    client: TestClient, staff: Staff, session: Session
) -> None:
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "mot-mat-khau-moi-dai"},
        headers=staff["hk_admin"],
    )
    assert response.status_code == 204, response.text
    assert _token(client, "hk_admin", PASSWORD) == 401
    assert _token(client, "hk_admin", "mot-mat-khau-moi-dai") == 200
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "user.password_change")
    ).all()
    assert [e.target_id for e in events] == [str(staff.users["hk_admin"].id)]


def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(
    client: TestClient, staff: Staff
) -> None:
    headers = {**staff["hk_admin"], "Accept-Language": "en"}
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-my-password", "new_password": "mot-mat-khau-moi-dai"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
    assert wrong.json()["errors"][0]["msg"] == "The current password is wrong."
    short = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=staff["hk_admin"],
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["loc"] == ["body", "new_password"]
    same = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD},
        headers=staff["hk_admin"],
    )
    assert same.status_code == 422
    assert same.json()["errors"][0]["msg"] == "Mật khẩu mới phải khác mật khẩu hiện tại."
    assert _token(client, "hk_admin", PASSWORD) == 200
    # Nothing changed, so no session ended.
    assert client.get("/api/v1/auth/me", headers=staff["hk_admin"]).status_code == 200
    assert client.post("/api/v1/auth/password", json={}).status_code == 401


def test_a_changed_password_ends_the_accounts_tokens(client: TestClient, staff: Staff) -> None:
    # The same person signed in twice: the change is made with one token, the other is
    # somewhere else (a lost phone, a shared computer).
    used = staff["hk_admin"]
    other = login(client, "hk_admin")
    assert client.get("/api/v1/auth/me", headers=other).status_code == 200
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "mot-mat-khau-moi-dai"},
        headers=used,
    )
    assert response.status_code == 204, response.text
    assert client.get("/api/v1/auth/me", headers=other).status_code == 401
    # The token that made the change ends too: an API client signs in again with the new one.
    assert client.get("/api/v1/auth/me", headers=used).status_code == 401
    fresh = login(client, "hk_admin", "mot-mat-khau-moi-dai")
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    # Other accounts' tokens are untouched.
    assert client.get("/api/v1/auth/me", headers=staff["hn_admin"]).status_code == 200
