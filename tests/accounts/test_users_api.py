from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from tests.factories import HN_HOAN_KIEM, TQ_COMMUNE, Staff, login


def _user(role: str, username: str, **scope: object) -> dict[str, object]:
    return {
        "username": username,
        "password": "mot-mat-khau-dai",
        "full_name": "Trần Thị Bình",
        "role": role,
        **scope,
    }


def test_each_role_creates_only_lower_roles_inside_its_scope(
    client: TestClient, staff: Staff, session: Session
) -> None:
    ok = [
        ("national", _user("province_admin", "new_pa", province_code="08")),
        ("hn_admin", _user("commune_admin", "new_ca", commune_code=HN_HOAN_KIEM)),
    ]
    for creator, body in ok:
        response = client.post("/api/v1/users", json=body, headers=staff[creator])
        assert response.status_code == 201, response.text
        assert "password" not in response.text and "password_hash" not in response.text
    refused = [
        ("hn_admin", _user("province_admin", "x_pa", province_code="01"), 403),
        ("hn_admin", _user("commune_admin", "x_ca", commune_code=TQ_COMMUNE), 403),
        ("hk_admin", _user("commune_admin", "x_ca2", commune_code=HN_HOAN_KIEM), 403),
        ("hk_member", _user("team_member", "x_tm", commune_code=HN_HOAN_KIEM, team_id=1), 403),
        ("national", _user("national_admin", "x_na"), 403),
    ]
    for creator, body, status in refused:
        response = client.post("/api/v1/users", json=body, headers=staff[creator])
        assert response.status_code == status, (creator, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert session.exec(select(User).where(User.username == body["username"])).first() is None
    denials = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert len(denials) == len(refused)


def test_commune_admin_creates_team_and_team_members(client: TestClient, staff: Staff) -> None:
    team = client.post("/api/v1/teams", json={"name": "Tổ thôn Đông"}, headers=staff["hk_admin"])
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    assert team.json()["commune_code"] == HN_HOAN_KIEM
    member = client.post(
        "/api/v1/users",
        json=_user("team_member", "to_dong_1", commune_code=HN_HOAN_KIEM, team_id=team_id),
        headers=staff["hk_admin"],
    )
    assert member.status_code == 201, member.text
    detail = client.get(f"/api/v1/teams/{team_id}", headers=staff["hk_member"])
    assert detail.status_code == 200
    assert [m["username"] for m in detail.json()["members"]] == ["to_dong_1"]
    assert client.get(f"/api/v1/teams/{team_id}", headers=staff["tq_admin"]).status_code == 404
    login(client, "to_dong_1", "mot-mat-khau-dai")


def test_team_member_needs_a_team_of_the_same_commune(client: TestClient, staff: Staff) -> None:
    other_team = client.post(
        "/api/v1/teams", json={"name": "Tổ Thượng Lâm"}, headers=staff["tq_commune_admin"]
    ).json()["id"]
    for body in (
        _user("team_member", "no_team", commune_code=HN_HOAN_KIEM),
        _user("team_member", "other_team", commune_code=HN_HOAN_KIEM, team_id=other_team),
    ):
        response = client.post("/api/v1/users", json=body, headers=staff["hk_admin"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "team_id"]


def test_a_team_member_can_be_created_with_a_team_alone(client: TestClient, staff: Staff) -> None:
    team = client.post("/api/v1/teams", json={"name": "Tổ thôn Tây"}, headers=staff["hk_admin"])
    team_id = team.json()["id"]
    other_team = client.post(
        "/api/v1/teams", json={"name": "Tổ Thượng Lâm"}, headers=staff["tq_commune_admin"]
    ).json()["id"]
    for creator, username in (("hk_admin", "to_tay_1"), ("hn_admin", "to_tay_2")):
        member = client.post(
            "/api/v1/users",
            json=_user("team_member", username, team_id=team_id),
            headers=staff[creator],
        )
        assert member.status_code == 201, member.text
        assert member.json()["commune_code"] == HN_HOAN_KIEM
        assert member.json()["province_code"] == "01"
        assert member.json()["team_id"] == team_id
        login(client, username, "mot-mat-khau-dai")
    # A team outside the caller's scope is as unknown as one that does not exist.
    for missing in (other_team, 999_999):
        refused = client.post(
            "/api/v1/users",
            json=_user("team_member", f"to_x_{missing}", team_id=missing),
            headers=staff["hk_admin"],
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"] == ["body", "team_id"]


def test_role_scope_fields_are_checked(client: TestClient, staff: Staff) -> None:
    cases = [
        _user("province_admin", "pa_no_code"),
        _user("commune_admin", "ca_bad", commune_code="99999"),
        _user("province_admin", "pa_with_commune", province_code="01", commune_code=HN_HOAN_KIEM),
        {**_user("commune_admin", "ca_x", commune_code=HN_HOAN_KIEM), "is_active": False},
        {**_user("commune_admin", "ca_short", commune_code=HN_HOAN_KIEM), "password": "short"},
    ]
    for body in cases:
        response = client.post("/api/v1/users", json=body, headers=staff["national"])
        assert response.status_code == 422, body
        assert response.json()["errors"], body


def test_duplicate_username_conflicts(client: TestClient, staff: Staff) -> None:
    body = _user("commune_admin", "hk_admin", commune_code=HN_HOAN_KIEM)
    response = client.post("/api/v1/users", json=body, headers=staff["national"])
    assert response.status_code == 409


def test_user_list_is_scoped(client: TestClient, staff: Staff) -> None:
    def usernames(who: str) -> set[str]:
        page = client.get("/api/v1/users", params={"limit": 500}, headers=staff[who]).json()
        return {u["username"] for u in page["items"]}

    assert usernames("national") == set(staff.users)
    assert usernames("hn_admin") == {"hn_admin", "hk_admin", "cn_admin", "hk_member", "cn_member"}
    assert usernames("hk_admin") == {"hk_admin", "hk_member"}
    assert usernames("tq_member") == {"tq_commune_admin", "tq_member"}


def test_user_list_pages(client: TestClient, staff: Staff) -> None:
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/users", params=params, headers=staff["national"]).json()
        names += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(names) == sorted(staff.users)
    too_big = client.get("/api/v1/users", params={"limit": 501}, headers=staff["national"])
    assert too_big.status_code == 422
