"""Arranging data for browser tests through the live server's API, as a client would."""

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from app.accounts.models import Role
from tests.factories import (
    CITIZEN_COURSES,
    HN,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    complete,
    learner_payload,
)
from tests.web.conftest import LiveServer


@dataclass
class Arranged:
    villages: dict[str, int]  # name -> id


def arrange_hanoi(live_server: LiveServer) -> Arranged:
    """Staff of every level in Hà Nội; two villages of Hoàn Kiếm with learners, some certified.

    Thôn Đông has three adults, two of them certified; Thôn Tây has two, none certified (it
    lags behind the 80 % target).
    """
    live_server.create_staff("national", Role.national_admin)
    live_server.create_staff("hn_admin", Role.province_admin, province_code=HN)
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    live_server.create_staff("cn_admin", Role.commune_admin, commune_code=HN_CUA_NAM)
    live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    admin = live_server.api_headers("hk_admin")
    member = live_server.api_headers("hk_member")
    villages = {}
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        for name in ("Thôn Đông", "Thôn Tây"):
            response = client.post(
                f"/api/v1/communes/{HN_HOAN_KIEM}/villages", json={"name": name}, headers=admin
            )
            assert response.status_code == 201, response.text
            villages[name] = response.json()["id"]
        serial = 0
        for name, people, certified in (("Thôn Đông", 3, 2), ("Thôn Tây", 2, 0)):
            for index in range(people):
                serial += 1
                response = client.post(
                    "/api/v1/learners",
                    json=learner_payload(HN_HOAN_KIEM, serial, village_id=villages[name]),
                    headers=member,
                )
                assert response.status_code == 201, response.text
                if index < certified:
                    for course in CITIZEN_COURSES:
                        complete(
                            client,  # type: ignore[arg-type]
                            member,
                            str(response.json()["id"]),
                            course,
                            completed_at=datetime.now(UTC).isoformat(),
                        )
    return Arranged(villages=villages)
