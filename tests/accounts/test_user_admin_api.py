from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from tests.factories import HN_HOAN_KIEM, PASSWORD, Staff, login

NEW_PASSWORD = "mot-mat-khau-moi-dai"


def _events(session: Session, action: str) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    return list(session.exec(statement).all())


def test_deactivated_account_loses_its_tokens_at_once_and_cannot_sign_in(
    client: TestClient, staff: Staff, session: Session
) -> None:
    member = staff.users["hk_member"]
    member_headers = staff["hk_member"]
    stats = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert client.get(stats, headers=member_headers).status_code == 200

    response = client.post(f"/api/v1/users/{member.id}/deactivate", headers=staff["hk_admin"])
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    for path in ("/api/v1/auth/me", stats, "/api/v1/learners"):
        refused = client.get(path, headers=member_headers)
        assert refused.status_code == 401, (path, refused.text)
    signed_in = client.post(
        "/api/v1/auth/token", data={"username": "hk_member", "password": PASSWORD}
    )
    assert signed_in.status_code == 401
    [event] = _events(session, "user.deactivate")
    assert (event.actor_id, event.target_id, event.commune_code) == (
        f"user:{staff.users['hk_admin'].id}",
        str(member.id),
        HN_HOAN_KIEM,
    )

    response = client.post(f"/api/v1/users/{member.id}/activate", headers=staff["hn_admin"])
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is True
    assert client.get("/api/v1/auth/me", headers=member_headers).status_code == 200
    login(client, "hk_member")
    assert len(_events(session, "user.activate")) == 1


def test_only_lower_accounts_in_scope_can_be_managed(
    client: TestClient, staff: Staff, session: Session
) -> None:
    ids = {name: user.id for name, user in staff.users.items()}
    cases = [
        # outside the caller's scope: not found, as if the account did not exist
        ("hk_admin", "cn_member", 404),
        ("tq_admin", "hk_admin", 404),
        ("hn_admin", "national", 404),
        ("hk_admin", "hn_admin", 404),
        ("hk_admin", 999_999, 404),
        # inside it, but not lower
        ("hk_admin", "hk_admin", 403),
        ("hk_member", "hk_member", 403),
        ("hk_member", "hk_admin", 403),
        ("national", "national", 403),
    ]
    for caller, target, expected in cases:
        user_id = ids[target] if isinstance(target, str) else target
        for action, body in (
            ("deactivate", None),
            ("activate", None),
            ("password", {"password": NEW_PASSWORD}),
        ):
            response = client.post(
                f"/api/v1/users/{user_id}/{action}", json=body, headers=staff[caller]
            )
            assert response.status_code == expected, (caller, target, action, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    session.expire_all()
    assert all(user.is_active for user in session.exec(select(User)).all())
    for name in ("hk_admin", "hn_admin", "national", "hk_member"):
        login(client, name)
    denied = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    # Every refusal is audited, except for an account that does not exist at all.
    assert len(denied) == 3 * (len(cases) - 1)

    english = client.post(
        f"/api/v1/users/{ids['hk_admin']}/deactivate",
        headers=staff["hk_member"] | {"Accept-Language": "en"},
    )
    assert english.json()["detail"] == "You can only manage accounts with a lower role than yours."


def test_admin_sets_a_lower_accounts_password(
    client: TestClient, staff: Staff, session: Session
) -> None:
    target = staff.users["hk_admin"]
    old_headers = staff["hk_admin"]
    short = client.post(
        f"/api/v1/users/{target.id}/password",
        json={"password": "ngan"},
        headers=staff["hn_admin"] | {"Accept-Language": "en"},
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["loc"] == ["body", "password"]
    login(client, "hk_admin")
    assert _events(session, "user.password_reset") == []

    response = client.post(
        f"/api/v1/users/{target.id}/password",
        json={"password": NEW_PASSWORD},
        headers=staff["hn_admin"],
    )
    assert response.status_code == 200, response.text
    assert "password" not in response.text
    old = client.post("/api/v1/auth/token", data={"username": "hk_admin", "password": PASSWORD})
    assert old.status_code == 401
    login(client, "hk_admin", NEW_PASSWORD)
    [event] = _events(session, "user.password_reset")
    assert event.actor_id == f"user:{staff.users['hn_admin'].id}"
    assert event.target_id == str(target.id)
    assert NEW_PASSWORD not in str(event.detail)
    # Whoever held the old password may hold a token: every token issued before ends, the
    # account itself stays usable with the new password.
    assert client.get("/api/v1/auth/me", headers=old_headers).status_code == 401
    fresh = login(client, "hk_admin", NEW_PASSWORD)
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
