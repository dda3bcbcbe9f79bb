"""Small factories that arrange data through the services, as the API would."""

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, Team, User
from app.accounts.schemas import UserCreate
from app.core.security import Passwords
from app.units.models import Commune

PASSWORD = "mat-khau-rat-dai-123"

# Communes used across tests: two in Hà Nội (01), one in Tuyên Quang (08).
HN = "01"
HN_HOAN_KIEM = "00070"
HN_CUA_NAM = "00082"
TQ = "08"
TQ_COMMUNE = "02269"  # Xã Thượng Lâm


def make_user(
    session: Session,
    client: TestClient,
    *,
    username: str,
    role: Role,
    province_code: str | None = None,
    commune_code: str | None = None,
    team_id: int | None = None,
) -> User:
    passwords: Passwords = client.app.state.passwords  # type: ignore[attr-defined]
    if role is Role.team_member and team_id is None:
        commune = session.get(Commune, commune_code)
        assert commune is not None
        team = Team(
            province_code=commune.province_code, commune_code=commune.code, name=f"Tổ {username}"
        )
        session.add(team)
        session.flush()
        team_id = team.id
    user = accounts.create_user(
        session,
        actor=None,
        passwords=passwords,
        data=UserCreate(
            username=username,
            password=PASSWORD,
            full_name=f"Cán bộ {username}",
            role=role,
            province_code=province_code if role is Role.province_admin else None,
            commune_code=commune_code,
            team_id=team_id,
        ),
    )
    session.commit()
    return user


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def citizen_id_for(birth_date: date, sex: str, province: str = "001", serial: int = 1) -> str:
    """A well-formed ID number that agrees with the birth date and sex."""
    century = {1900: 0, 2000: 2}[birth_date.year // 100 * 100]
    digit = century + (1 if sex == "female" else 0)
    return f"{province}{digit}{birth_date.year % 100:02d}{serial:06d}"


def learner_payload(commune_code: str, serial: int = 1, **overrides: Any) -> dict[str, Any]:
    birth_date = overrides.pop("birth_date", date(1985, 4, 12))
    sex = overrides.pop("sex", "male")
    payload: dict[str, Any] = {
        "citizen_id": citizen_id_for(birth_date, sex, serial=serial),
        "full_name": "Nguyễn Văn An",
        "birth_date": birth_date.isoformat(),
        "sex": sex,
        "commune_code": commune_code,
        "groups": ["citizen"],
        "consent": {
            "purpose": "Theo dõi kết quả học kỹ năng số",
            "given_at": datetime(2025, 12, 1, 2, 0, tzinfo=UTC).isoformat(),
        },
    }
    payload.update(overrides)
    return payload


class Staff:
    """Signed-in staff across two provinces and three communes, by name."""

    def __init__(self, session: Session, client: TestClient) -> None:
        self.client = client
        self.users: dict[str, User] = {}
        for username, role, province, commune in (
            ("national", Role.national_admin, None, None),
            ("hn_admin", Role.province_admin, HN, None),
            ("tq_admin", Role.province_admin, TQ, None),
            ("hk_admin", Role.commune_admin, None, HN_HOAN_KIEM),
            ("cn_admin", Role.commune_admin, None, HN_CUA_NAM),
            ("tq_commune_admin", Role.commune_admin, None, TQ_COMMUNE),
            ("hk_member", Role.team_member, None, HN_HOAN_KIEM),
            ("cn_member", Role.team_member, None, HN_CUA_NAM),
            ("tq_member", Role.team_member, None, TQ_COMMUNE),
        ):
            self.users[username] = make_user(
                session,
                client,
                username=username,
                role=role,
                province_code=province,
                commune_code=commune,
            )
        self._headers: dict[str, dict[str, str]] = {}

    def sign_in_again(self) -> None:
        """Forget the tokens (e.g. after moving the clock past their expiry)."""
        self._headers.clear()

    def __getitem__(self, username: str) -> dict[str, str]:
        """Authorization headers for that user (signed in once)."""
        if username not in self._headers:
            self._headers[username] = login(self.client, username)
        return self._headers[username]


CITIZEN_PROGRAM = "CHUAN-NGUOI-DAN"
CITIZEN_COURSES = [
    "CB-THIETBI",
    "CB-THONGTIN",
    "CB-GIAOTIEP",
    "CB-ANTOAN",
    "CB-VNEID",
    "CB-THANHTOAN",
    "CB-AI",
]
OFFICIAL_ONLY_COURSES = ["CV-VANBAN", "CV-THUTUC", "CV-DULIEU"]


def complete(
    client: TestClient,
    headers: dict[str, str],
    learner_id: str,
    course_code: str,
    score: float = 90,
    completed_at: str = "2026-05-10T09:00:00+07:00",
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/completions",
        json={
            "learner_id": learner_id,
            "course_code": course_code,
            "completed_at": completed_at,
            "score": score,
            "method": "home_visit",
        },
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body
