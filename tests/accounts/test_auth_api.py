import time

import time_machine
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from tests.factories import PASSWORD, Staff

PROBLEM = "application/problem+json"


def _token(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    return str(body["access_token"])


def test_sign_in_and_me_show_role_and_scope(client: TestClient, staff: Staff) -> None:
    token = _token(client, "hk_admin")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["role"] == "commune_admin"
    assert me.json()["scope"] == {"level": "commune", "code": "00070"}
    national = client.get("/api/v1/auth/me", headers=staff["national"]).json()
    assert national["scope"] == {"level": "national", "code": None}
    province = client.get("/api/v1/auth/me", headers=staff["hn_admin"]).json()
    assert province["scope"] == {"level": "province", "code": "01"}


def test_wrong_password_is_a_problem_in_the_asked_language(
    client: TestClient, staff: Staff
) -> None:
    vi = client.post(
        "/api/v1/auth/token", data={"username": "hk_admin", "password": "sai-mat-khau"}
    )
    assert vi.status_code == 401
    assert vi.headers["content-type"].startswith(PROBLEM)
    assert vi.json()["detail"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    en = client.post(
        "/api/v1/auth/token",
        data={"username": "nobody", "password": "whatever-it-is"},
        headers={"Accept-Language": "en-US,en;q=0.9,vi;q=0.5"},
    )
    assert en.status_code == 401
    assert en.json()["detail"] == "Wrong username or password."
    assert en.json()["title"] == "Not authenticated"


def test_too_many_failed_logins_answer_429_with_retry_after(
    client: TestClient, staff: Staff, session: Session
) -> None:
    for _ in range(5):
        failed = client.post(
            "/api/v1/auth/token", data={"username": "hk_member", "password": "wrong-password"}
        )
        assert failed.status_code == 401
    blocked = client.post(
        "/api/v1/auth/token", data={"username": "hk_member", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith(PROBLEM)
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    denials = session.exec(
        select(AuditEvent).where(AuditEvent.action == "auth.login_throttled")
    ).all()
    assert len(denials) == 1 and denials[0].outcome == "denied"


def test_forged_expired_and_foreign_tokens_are_refused(
    client: TestClient, staff: Staff, session: Session
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    key = settings.secret_key.get_secret_value()
    now = int(time.time())
    good = {"iss": "hocvuso", "aud": "hocvuso-api", "sub": "user:1", "iat": now, "exp": now + 600}
    headers = {"typ": "at+jwt"}
    cases = {
        "forged": jwt.encode(good, "another-secret-entirely-0123456789", "HS256", headers=headers),
        "expired": jwt.encode(
            {**good, "iat": now - 7200, "exp": now - 3600}, key, "HS256", headers=headers
        ),
        "wrong_audience": jwt.encode(
            {**good, "aud": "someone-else"}, key, "HS256", headers=headers
        ),
        "wrong_issuer": jwt.encode({**good, "iss": "evil"}, key, "HS256", headers=headers),
        "no_exp": jwt.encode(
            {k: v for k, v in good.items() if k != "exp"}, key, "HS256", headers=headers
        ),
        "no_sub": jwt.encode(
            {k: v for k, v in good.items() if k != "sub"}, key, "HS256", headers=headers
        ),
        "wrong_type": jwt.encode(good, key, "HS256", headers={"typ": "JWT"}),
        "unknown_user": jwt.encode({**good, "sub": "user:99999"}, key, "HS256", headers=headers),
        "alg_none": _unsigned(good),
        "garbage": "not.a.token",
    }
    for name, token in cases.items():
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith(PROBLEM), name
        assert response.headers["www-authenticate"] == "Bearer", name
    # The control: the same claims, properly signed, are accepted.
    accepted = jwt.encode(good, key, "HS256", headers=headers)
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {accepted}"}).status_code
        == 200
    )
    rejected = session.exec(
        select(AuditEvent).where(AuditEvent.action == "auth.token_rejected")
    ).all()
    assert len(rejected) == len(cases)


def _unsigned(claims: dict[str, object]) -> str:
    import base64
    import json

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."


def test_deactivated_user_token_stops_working(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    user = staff.users["hk_member"]
    user.is_active = False
    session.add(user)
    session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_a_token_accepted_before_is_refused_once_it_expires(
    client: TestClient, staff: Staff
) -> None:
    token = _token(client, "hk_admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    expires = jwt.get_unverified_claims(token)["exp"]
    with time_machine.travel(expires - 1, tick=False):
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with time_machine.travel(expires + 1, tick=False):
        late = client.get("/api/v1/auth/me", headers=headers)
    assert late.status_code == 401
    assert late.headers["content-type"].startswith(PROBLEM)
