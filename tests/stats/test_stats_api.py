import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts.models import Role
from app.certificates.models import Certificate
from app.cli import cli
from app.core.clock import VIETNAM
from app.core.config import Settings
from app.ledger.models import StatTotal
from app.main import create_app
from app.stats.models import Target
from tests.factories import (
    CITIZEN_COURSES,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    TQ_COMMUNE,
    Staff,
    complete,
    learner_payload,
)

PROBLEM = "application/problem+json"


def _indicator(body: dict[str, object], name: str) -> dict[str, object]:
    return next(i for i in body["indicators"] if i["indicator"] == name)  # type: ignore[attr-defined, index]


def _register_and_certify(client: TestClient, staff: Staff, serial: int, certify: bool) -> str:
    response = client.post(
        "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, serial), headers=staff["hk_member"]
    )
    assert response.status_code == 201
    learner_id = str(response.json()["id"])
    if certify:
        for course in CITIZEN_COURSES:
            complete(
                client,
                staff["hk_member"],
                learner_id,
                course,
                completed_at=datetime.now(UTC).isoformat(),
            )
    return learner_id


def test_commune_figures_target_gap_and_projection(client: TestClient, staff: Staff) -> None:
    with time_machine.travel(datetime(2026, 3, 10, 3, 0, tzinfo=UTC), tick=False):
        staff.sign_in_again()
        for serial in range(1, 5):
            _register_and_certify(client, staff, serial, certify=serial <= 2)
    with time_machine.travel(datetime(2026, 5, 30, 3, 0, tzinfo=UTC), tick=False):
        staff.sign_in_again()
        for serial in range(5, 11):
            _register_and_certify(client, staff, serial, certify=serial == 5)
        body = client.get(
            f"/api/v1/stats/communes/{HN_HOAN_KIEM}",
            params={"as_of": "2026-05-30"},
            headers=staff["hk_admin"],
        ).json()
    assert body["unit"] == {"level": "commune", "code": HN_HOAN_KIEM, "name": "Phường Hoàn Kiếm"}
    adults = _indicator(body, "adults_certified")
    assert (adults["numerator"], adults["denominator"]) == (3, 10)
    assert adults["denominator_source"] == "registered"
    assert adults["rate"] == 0.3
    assert adults["target"]["value"] == 0.8 and adults["target"]["scope"]["level"] == "national"
    assert adults["gap"] == 5  # 80 % of 10 is 8 people; 3 hold a certificate
    # 3 certified in the last 90 days → 1/30 a day; 215 days left to 31 Dec: 3 + 7.2 → 10,
    # at most everyone registered.
    assert adults["projected_rate"] == 1.0
    assert adults["on_track"] is True
    assert _indicator(body, "officials_trained")["target"]["value"] == 1.0


def test_the_most_specific_target_applies(client: TestClient, staff: Staff) -> None:
    def put(who: str, scope: dict[str, object], value: float) -> int:
        return client.put(
            "/api/v1/targets",
            headers=staff[who],
            json={
                "indicator": "adults_certified",
                "scope": scope,
                "kind": "rate",
                "value": value,
                "deadline": "2026-12-31",
            },
        ).status_code

    assert put("hn_admin", {"level": "province", "code": "01"}, 0.85) == 200
    assert put("hk_admin", {"level": "commune", "code": HN_HOAN_KIEM}, 0.9) == 200
    assert put("hk_admin", {"level": "commune", "code": HN_CUA_NAM}, 0.9) == 404
    assert put("hk_member", {"level": "commune", "code": HN_HOAN_KIEM}, 0.9) == 403
    assert put("hn_admin", {"level": "national"}, 0.5) == 403
    assert put("tq_admin", {"level": "province", "code": "01"}, 0.5) == 404

    def applied(commune: str, who: str) -> tuple[float, str]:
        body = client.get(f"/api/v1/stats/communes/{commune}", headers=staff[who]).json()
        target = _indicator(body, "adults_certified")["target"]
        return target["value"], target["scope"]["level"]

    assert applied(HN_HOAN_KIEM, "hk_admin") == (0.9, "commune")
    assert applied(HN_CUA_NAM, "cn_admin") == (0.85, "province")
    assert applied(TQ_COMMUNE, "tq_member") == (0.8, "national")
    listed = client.get("/api/v1/targets", headers=staff["cn_admin"]).json()
    assert listed["next_cursor"] is None
    assert {(t["scope"]["level"], t["scope"]["code"]) for t in listed["items"]} == {
        ("national", None)
    }
    # Each caller sees the targets of its own scope, a page at a time.
    seen: list[tuple[str, str, str | None]] = []
    cursor = None
    for _ in range(20):  # bounded
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/targets", params=params, headers=staff["hn_admin"]).json()
        seen += [(t["indicator"], t["scope"]["level"], t["scope"]["code"]) for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ("adults_certified", "province", "01") in seen
    assert ("adults_certified", "commune", HN_HOAN_KIEM) in seen
    assert ("adults_certified", "national", None) in seen and len(seen) == len(set(seen))
    mine = client.get("/api/v1/targets", headers=staff["tq_admin"]).json()["items"]
    assert {t["scope"]["level"] for t in mine} == {"national"}


def test_count_targets_and_bad_targets(client: TestClient, staff: Staff) -> None:
    ok = client.put(
        "/api/v1/targets",
        headers=staff["national"],
        json={
            "indicator": "adults_vneid_confirmed",
            "scope": {"level": "province", "code": "01"},
            "kind": "count",
            "value": 1100000,
            "deadline": "2026-12-31",
        },
    )
    assert ok.status_code == 200, ok.text
    body = client.get("/api/v1/stats/provinces/01", headers=staff["hn_admin"]).json()
    item = _indicator(body, "adults_vneid_confirmed")
    assert item["target"]["kind"] == "count" and item["gap"] == 1100000
    assert item["on_track"] is False
    for bad in (
        {"kind": "rate", "value": 80},
        {"kind": "count", "value": 10.5},
        {"kind": "rate", "value": -0.1},
        {"kind": "rate", "value": 0.8, "indicator": "happiness"},
        {"kind": "rate", "value": 0.8, "scope": {"level": "province", "code": "99"}},
        {"kind": "rate", "value": 0.8, "extra": 1},
    ):
        payload = {
            "indicator": "adults_certified",
            "scope": {"level": "province", "code": "01"},
            "deadline": "2026-12-31",
            **bad,
        }
        response = client.put("/api/v1/targets", headers=staff["national"], json=payload)
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith(PROBLEM)


def test_baselines_become_the_denominator_and_flag_low_figures(
    client: TestClient, staff: Staff
) -> None:
    for serial in range(1, 4):
        _register_and_certify(client, staff, serial, certify=False)
    year = datetime.now(UTC).year
    url = f"/api/v1/communes/{HN_HOAN_KIEM}/baselines/{year}"
    low = client.put(
        url,
        headers=staff["hk_admin"],
        json={"adults": 2, "officials": 0, "pupils": 0, "workers": 0},
    )
    assert low.status_code == 200, low.text
    assert [w["field"] for w in low.json()["warnings"]] == ["adults"]
    fine = client.put(
        url,
        headers=staff["hk_admin"],
        json={"adults": 8000, "officials": 60, "pupils": 1500, "workers": 900},
    )
    assert fine.json()["warnings"] == []
    body = client.get(f"/api/v1/stats/communes/{HN_HOAN_KIEM}", headers=staff["hk_member"]).json()
    adults = _indicator(body, "adults_certified")
    assert (adults["denominator"], adults["denominator_source"]) == (8000, "baseline")
    refusals = [
        (url, "hk_member", {"adults": 1, "officials": 1, "pupils": 1, "workers": 1}, 403),
        (
            f"/api/v1/communes/{TQ_COMMUNE}/baselines/{year}",
            "hk_admin",
            {"adults": 1, "officials": 1, "pupils": 1, "workers": 1},
            404,
        ),
        (url, "hk_admin", {"adults": -5, "officials": 1, "pupils": 1, "workers": 1}, 422),
        (url, "hk_admin", {"adults": 5, "officials": 1, "pupils": 1}, 422),
        (
            f"/api/v1/communes/{HN_HOAN_KIEM}/baselines/1999",
            "hk_admin",
            {"adults": 5, "officials": 1, "pupils": 1, "workers": 1},
            422,
        ),
    ]
    for target_url, who, payload, status in refusals:
        response = client.put(target_url, headers=staff[who], json=payload)
        assert response.status_code == status, (payload, response.text)
    bulk = client.put(
        f"/api/v1/provinces/01/baselines/{year}",
        headers=staff["hn_admin"],
        json={
            "communes": {
                HN_CUA_NAM: {"adults": 10, "officials": 1, "pupils": 1, "workers": 1},
                TQ_COMMUNE: {"adults": 10, "officials": 1, "pupils": 1, "workers": 1},
            }
        },
    )
    assert bulk.status_code == 422  # one commune is in another province: nothing stored
    body = client.get(f"/api/v1/stats/communes/{HN_CUA_NAM}", headers=staff["cn_admin"]).json()
    assert _indicator(body, "adults_certified")["denominator_source"] == "registered"


def test_stats_are_scoped(client: TestClient, staff: Staff) -> None:
    allowed = [
        ("hk_member", f"/api/v1/stats/communes/{HN_HOAN_KIEM}"),
        ("hn_admin", f"/api/v1/stats/communes/{HN_CUA_NAM}"),
        ("hn_admin", "/api/v1/stats/provinces/01"),
        ("national", "/api/v1/stats/national"),
        ("hk_admin", f"/api/v1/stats/communes/{HN_HOAN_KIEM}/villages"),
    ]
    refused = [
        ("hk_member", f"/api/v1/stats/communes/{HN_CUA_NAM}"),
        ("hk_admin", "/api/v1/stats/provinces/01"),
        ("tq_admin", "/api/v1/stats/provinces/01"),
        ("tq_admin", f"/api/v1/stats/communes/{HN_HOAN_KIEM}/export.csv"),
        ("hn_admin", "/api/v1/stats/national"),
        ("hn_admin", "/api/v1/stats/national/timeseries"),
        ("hk_admin", "/api/v1/stats/provinces/01/communes"),
    ]
    for who, url in allowed:
        assert client.get(url, headers=staff[who]).status_code == 200, (who, url)
    for who, url in refused:
        response = client.get(url, headers=staff[who])
        assert response.status_code == 404, (who, url)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/v1/stats/communes/99999", headers=staff["national"]).status_code == 404
    assert (
        client.get(
            "/api/v1/stats/national", params={"as_of": "2026-02-30"}, headers=staff["national"]
        ).status_code
        == 422
    )


def test_ranking_and_timeseries(client: TestClient, staff: Staff) -> None:
    with time_machine.travel(datetime(2026, 1, 10, 3, 0, tzinfo=UTC), tick=False):
        staff.sign_in_again()
        _register_and_certify(client, staff, 1, certify=True)
        response = client.post(
            "/api/v1/learners", json=learner_payload(HN_CUA_NAM, 2), headers=staff["cn_member"]
        )
        assert response.status_code == 201
    with time_machine.travel(datetime(2026, 3, 5, 3, 0, tzinfo=UTC), tick=False):
        staff.sign_in_again()
        _register_and_certify(client, staff, 3, certify=False)
        ranking = client.get(
            "/api/v1/stats/provinces/01/communes",
            params={"sort": "adults_certified"},
            headers=staff["hn_admin"],
        ).json()
        series = client.get(
            f"/api/v1/stats/communes/{HN_HOAN_KIEM}/timeseries",
            params={"from": "2025-12-01", "to": "2026-03-05"},
            headers=staff["hk_admin"],
        ).json()
    first, second = ranking["items"][0], ranking["items"][1]
    assert (first["unit"]["code"], first["rank"]) == (HN_HOAN_KIEM, 1)
    assert _indicator(first, "adults_certified")["rate"] == 0.5
    assert _indicator(second, "adults_certified")["rate"] == 0.0
    assert len(ranking["items"]) > 100  # every commune of Hà Nội, ranked
    adults = next(s for s in series["series"] if s["indicator"] == "adults_certified")
    assert [(p["date"], p["numerator"], p["denominator"]) for p in adults["points"]] == [
        ("2025-12-31", 0, 0),
        ("2026-01-31", 1, 1),
        ("2026-02-28", 1, 1),
        ("2026-03-05", 1, 2),
    ]


def test_reports_have_vietnamese_headers_and_cannot_run_formulas(
    client: TestClient, staff: Staff
) -> None:
    created = client.post(
        "/api/v1/communes/00070/villages",
        headers=staff["hk_admin"],
        json={"name": '=HYPERLINK("http://x")'},
    )
    assert created.status_code == 201
    _register_and_certify(client, staff, 1, certify=True)
    csv_response = client.get(
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}/export.csv",
        params={"as_of": datetime.now(VIETNAM).date().isoformat()},
        headers=staff["hk_admin"],
    )
    assert csv_response.status_code == 200
    assert "attachment" in csv_response.headers["content-disposition"]
    text = csv_response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["BÁO CÁO TIẾN ĐỘ PHONG TRÀO BÌNH DÂN HỌC VỤ SỐ"]
    assert "Phường Hoàn Kiếm" in rows[1][0]
    header = rows[4]
    assert header[:5] == ["Đơn vị", "Mã đơn vị", "Chỉ tiêu", "Tử số", "Mẫu số"]
    village_rows = [r for r in rows[5:] if r and "HYPERLINK" in r[0]]
    assert village_rows and all(r[0].startswith("'=") for r in village_rows)
    certified = next(
        r
        for r in rows[5:]
        if r[0] == "Phường Hoàn Kiếm" and r[2] == "Người trưởng thành đạt chuẩn kỹ năng số"
    )
    assert certified[3:5] == ["1", "1"]

    xlsx = client.get(
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}/export.xlsx", headers=staff["hk_admin"]
    )
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Tổng hợp", "Chi tiết"]
    values = [c.value for c in book["Chi tiết"]["A"] if c.value]
    assert any(str(v).startswith("'=HYPERLINK") for v in values)
    assert book["Tổng hợp"]["A5"].value == "Đơn vị"


def test_the_indicators_follow_the_callers_account_as_it_is_now(
    client: TestClient, staff: Staff, session: Session
) -> None:
    """The figures and the caller's account are read together: a disabled account or a
    narrower role takes effect on the next request, for a commune read before or not yet."""
    url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    member_headers = staff["hk_member"]
    assert client.get(url, headers=member_headers).status_code == 200
    assert client.get(url, headers=staff["hn_admin"]).status_code == 200
    admin = staff.users["hn_admin"]
    admin.role = Role.commune_admin
    admin.commune_code = HN_CUA_NAM
    session.add(admin)
    session.commit()
    narrowed = client.get(url, headers=staff["hn_admin"])
    assert narrowed.status_code == 404
    assert narrowed.headers["content-type"].startswith(PROBLEM)
    assert (
        client.get(f"/api/v1/stats/communes/{HN_CUA_NAM}", headers=staff["hn_admin"]).status_code
        == 200
    )

    member = staff.users["hk_member"]
    member.is_active = False
    session.add(member)
    session.commit()
    for code in (HN_HOAN_KIEM, TQ_COMMUNE, "99999"):  # read before, never read, no such commune
        refused = client.get(f"/api/v1/stats/communes/{code}", headers=member_headers)
        assert refused.status_code == 401, code
        assert refused.headers["content-type"].startswith(PROBLEM)
    assert client.get(url).status_code == 401


def test_a_kept_answer_is_never_served_after_what_it_shows_has_changed(
    client: TestClient, staff: Staff, session: Session
) -> None:
    """The service keeps each unit's answer while nothing it shows has changed; every kind of
    change must show on the very next read, at the commune, its province and the nation."""
    today = datetime.now(VIETNAM).date().isoformat()
    reads = [
        (f"/api/v1/stats/communes/{HN_HOAN_KIEM}", "hk_admin"),
        ("/api/v1/stats/provinces/01", "hn_admin"),
        ("/api/v1/stats/national", "national"),
    ]

    def adults(url: str, who: str, **params: str) -> dict[str, object]:
        response = client.get(url, headers=staff[who], params=params)
        assert response.status_code == 200, response.text
        return _indicator(response.json(), "adults_certified")

    def certified() -> list[object]:
        return [adults(url, who)["numerator"] for url, who in reads]

    registered = _register_and_certify(client, staff, 1, certify=False)
    assert certified() == [0, 0, 0]
    assert certified() == [0, 0, 0]  # kept, and still right
    for course in CITIZEN_COURSES:
        complete(client, staff["hk_member"], registered, course, completed_at=today)
    assert certified() == [1, 1, 1]
    # Another day and another language are other answers.
    assert adults(*reads[0], as_of="2026-01-01")["numerator"] == 0
    assert adults(*reads[0])["numerator"] == 1
    english = client.get(reads[0][0], headers={**staff["hk_admin"], "Accept-Language": "en"})
    assert _indicator(english.json(), "adults_certified")["title"] != adults(*reads[0])["title"]

    baseline = client.put(
        f"/api/v1/communes/{HN_HOAN_KIEM}/baselines/{datetime.now(VIETNAM).year}",
        headers=staff["hk_admin"],
        json={"adults": 4000, "officials": 10, "pupils": 10, "workers": 10},
    )
    assert baseline.status_code == 200, baseline.text
    commune = adults(*reads[0])
    assert (commune["denominator"], commune["denominator_source"]) == (4000, "baseline")

    target = {"scope": {"level": "province", "code": "01"}, "kind": "rate", "value": 0.95}
    put = client.put(
        "/api/v1/targets",
        headers=staff["hn_admin"],
        json={"indicator": "adults_certified", "deadline": "2026-12-31", **target},
    )
    assert put.status_code == 200, put.text
    for url, who in reads[:2]:
        applied = adults(url, who)["target"]
        assert applied["value"] == 0.95 and applied["scope"]["level"] == "province", url  # type: ignore[index]
    assert adults(*reads[2])["target"]["value"] == 0.8  # type: ignore[index]

    [certificate] = session.exec(
        select(Certificate.id).where(Certificate.learner_id == uuid.UUID(registered))
    ).all()
    revoked = client.post(
        f"/api/v1/certificates/{certificate}/revoke",
        headers=staff["hk_admin"],
        json={"reason": "Cấp nhầm"},
    )
    assert revoked.status_code == 200, revoked.text
    assert certified() == [0, 0, 0]


def test_targets_the_seed_puts_back_show_at_once(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    session.delete(
        session.exec(
            select(Target).where(Target.indicator == "adults_certified", Target.level == "national")
        ).one()
    )
    session.commit()
    body = client.get(url, headers=staff["hk_admin"]).json()
    assert _indicator(body, "adults_certified")["target"] is None
    monkeypatch.setenv("DATABASE_URL", database_url)
    seeded = CliRunner().invoke(cli, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    body = client.get(url, headers=staff["hk_admin"]).json()
    assert _indicator(body, "adults_certified")["target"]["value"] == 0.8  # type: ignore[index]


def test_answers_are_kept_until_a_version_moves_unless_told_to_keep_none(
    settings: Settings, client: TestClient, staff: Staff, session: Session
) -> None:
    """A hand edit of the totals raises no version: a worker that answered before keeps its
    answer (so answers are kept), while one told to keep none reads the edit."""
    url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    _register_and_certify(client, staff, 1, certify=False)

    def certified(app_client: TestClient) -> object:
        body = app_client.get(url, headers=staff["hk_admin"]).json()
        return _indicator(body, "adults_certified")["numerator"]

    with TestClient(create_app(settings.model_copy(update={"stats_answers_kept": 0}))) as other:
        assert certified(client) == certified(other) == 0
        session.add(
            StatTotal(
                level="commune",
                unit_code=HN_HOAN_KIEM,
                metric="cert_adults",
                effective_on=date(2026, 1, 1),
                count=1,
            )
        )
        session.commit()
        assert certified(client) == 0
        assert certified(other) == 1
