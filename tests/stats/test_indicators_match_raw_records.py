"""Randomized field work over months, then every indicator against the raw records."""

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.catalog.models import ProgramCourse
from app.certificates.models import Certificate
from app.core.context import WriteContext, bind_context
from app.ledger.rebuild import compare
from app.training.models import Completion
from app.units.models import Commune
from app.vneid_mock.service import CitizenIndex, add_citizen
from tests.certificates.helpers import deliver
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, TQ, TQ_COMMUNE, Staff, citizen_id_for
from tests.stats import oracle

COMMUNES = {HN_HOAN_KIEM: "hk", HN_CUA_NAM: "cn", TQ_COMMUNE: "tq_commune"}
MEMBERS = {HN_HOAN_KIEM: "hk_member", HN_CUA_NAM: "cn_member", TQ_COMMUNE: "tq_member"}
ADMINS = {HN_HOAN_KIEM: "hk_admin", HN_CUA_NAM: "cn_admin", TQ_COMMUNE: "tq_commune_admin"}
EVENT_DAYS = [
    datetime(2025, 7, 3, 2, 0, tzinfo=UTC),
    datetime(2025, 10, 20, 18, 30, tzinfo=UTC),  # 01:30 next day in Vietnam
    datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
    datetime(2026, 2, 28, 16, 59, tzinfo=UTC),  # 23:59 in Vietnam
    datetime(2026, 6, 1, 3, 0, tzinfo=UTC),
    datetime(2026, 9, 9, 10, 0, tzinfo=UTC),
]
CHECK_DAYS = [
    date(2025, 7, 2),
    date(2025, 7, 3),
    date(2025, 10, 20),
    date(2025, 10, 21),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 5, 31),
    date(2026, 6, 1),
    date(2026, 11, 30),
    date(2027, 3, 1),
    date(2028, 12, 31),
]


class Field:
    """Drives the API as team members and admins would, with a seeded random generator."""

    def __init__(self, client: TestClient, staff: Staff, session: Session, seed: int) -> None:
        self.client, self.staff, self.session = client, staff, session
        self.rng = random.Random(seed)
        self.serial = 0
        self.learners: dict[str, str] = {}  # id -> commune
        # Rows are picked in the order their people were registered, never in the order a
        # database hands them back: PostgreSQL's changes from run to run, and with it the seed's
        # field work.
        self.registered: dict[str, int] = {}
        self.villages: dict[str, list[int]] = {c: [] for c in COMMUNES}
        self.programs: dict[str, list[str]] = {}
        for link in session.exec(select(ProgramCourse)).all():
            self.programs.setdefault(link.program_code, []).append(link.course_code)

    def call(self, method: str, url: str, who: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, headers=self.staff[who], **kwargs)
        assert response.status_code < 300, (method, url, response.text)
        return response.json() if response.content else None

    def birth_date(self, today: date) -> date:
        kind = self.rng.random()
        if kind < 0.4:  # around the adult floor
            birth = date(2007, 6, 1) + timedelta(days=self.rng.randrange(0, 3 * 365))
        elif kind < 0.5:
            birth = date(2008, 2, 29)
        elif kind < 0.65:
            birth = date(2010, 1, 1) + timedelta(days=self.rng.randrange(0, 3 * 365))
        else:
            birth = date(1950, 1, 1) + timedelta(days=self.rng.randrange(0, 45 * 365))
        return min(birth, today)

    def register(self, today: date) -> None:
        commune = self.rng.choice(list(COMMUNES))
        self.serial += 1
        birth, sex = self.birth_date(today), self.rng.choice(["male", "female"])
        groups = ["citizen"] + [
            g for g in ("official", "pupil", "worker") if self.rng.random() < 0.3
        ]
        body: dict[str, Any] = {
            "citizen_id": citizen_id_for(birth, sex, serial=self.serial),
            "full_name": f"Người Học {self.serial}",
            "birth_date": birth.isoformat(),
            "sex": sex,
            "commune_code": commune,
            "groups": groups,
            "consent": {"purpose": "Theo dõi học tập", "given_at": "2025-01-01T00:00:00Z"},
        }
        if "official" in groups:
            body["official_level"] = self.rng.choice(["commune", "province"])
            body["agency"] = "UBND"
        if self.villages[commune] and self.rng.random() < 0.6:
            body["village_id"] = self.rng.choice(self.villages[commune])
        learner = self.call("POST", "/api/v1/learners", MEMBERS[commune], json=body)
        self.learners[learner["id"]] = commune
        self.registered[learner["id"]] = len(self.registered)
        if self.rng.random() < 0.8:  # most people also hold a VNeID account
            add_citizen(
                self.session,
                index=CitizenIndex(self.client.app.state.settings),  # type: ignore[attr-defined]
                citizen_id=body["citizen_id"],
                full_name=body["full_name"],
                birth_date=birth,
                passcode="135790",
            )
            self.session.commit()

    def in_order(self, rows: Sequence[Completion] | Sequence[Certificate]) -> list[Any]:
        def order(row: Completion | Certificate) -> tuple[int, str, str]:
            if isinstance(row, Completion):
                return self.registered.get(str(row.learner_id), -1), row.course_code, ""
            when = row.issued_at.isoformat()  # a program earned again after a revocation
            return self.registered.get(str(row.learner_id), -1), row.program_code, when

        return sorted(rows, key=order)

    def revoke(self) -> None:
        valid = self.session.exec(select(Certificate).where(Certificate.status == "valid")).all()
        if valid:
            certificate = self.rng.choice(self.in_order(valid))
            self.call(
                "POST",
                f"/api/v1/certificates/{certificate.id}/revoke",
                ADMINS[certificate.commune_code],
                json={"reason": "Cấp nhầm"},
            )

    def deliver(self) -> None:
        deliver(self.client)

    def study(self, when: datetime) -> None:
        learner_id = self.rng.choice(list(self.learners))
        program = self.rng.choice(sorted(self.programs))
        courses = self.programs[program] + self.rng.sample(self.programs[program], 2)
        for course in courses:
            score = self.rng.choice([55, 72, 78, 85, 95])
            self.call(
                "POST",
                "/api/v1/completions",
                MEMBERS[self.learners[learner_id]],
                json={
                    "learner_id": learner_id,
                    "course_code": course,
                    "score": score,
                    "completed_at": when.isoformat(),
                    "method": "class",
                },
            )

    def study_late(self, today: datetime) -> None:
        """Results entered today for work done weeks or months ago: they date what they earn
        in the past months they belong to."""
        learner_id = self.rng.choice(list(self.learners))
        program = self.rng.choice(sorted(self.programs))
        days_ago = self.rng.choice([3, 20, 45, 95])
        for course in self.programs[program]:
            when = today - timedelta(days=days_ago + self.rng.randrange(0, 10))
            self.call(
                "POST",
                "/api/v1/completions",
                MEMBERS[self.learners[learner_id]],
                json={
                    "learner_id": learner_id,
                    "course_code": course,
                    "score": self.rng.choice([78, 85, 95]),
                    "completed_at": when.isoformat(),
                    "method": "home_visit",
                },
            )

    def correct(self) -> None:
        """An admin sets a stored result right, or withdraws it."""
        completions = [
            c
            for c in self.in_order(self.session.exec(select(Completion)).all())
            if str(c.learner_id) in self.learners  # not erased
        ]
        if not completions:
            return
        completion = self.rng.choice(completions)
        admin = ADMINS[completion.commune_code]
        if self.rng.random() < 0.4:
            self.call(
                "POST",
                f"/api/v1/completions/{completion.id}/withdraw",
                admin,
                json={"reason": "Ghi nhầm người học"},
            )
            return
        body: dict[str, Any] = {"reason": "Nhập sai kết quả"}
        if self.rng.random() < 0.6:
            body["score"] = self.rng.choice([40, 72, 90])
        else:
            moved = completion.completed_at - timedelta(days=self.rng.choice([-2, 5, 40]))
            body["completed_at"] = min(moved, datetime.now(UTC)).isoformat()
        self.call("PATCH", f"/api/v1/completions/{completion.id}", admin, json=body)

    def reinstate(self) -> None:
        """An admin undoes a revocation, where the results still meet the standard."""
        for certificate in self.in_order(
            self.session.exec(select(Certificate).where(Certificate.status == "revoked")).all()
        ):
            response = self.client.post(
                f"/api/v1/certificates/{certificate.id}/reinstate",
                headers=self.staff[ADMINS[certificate.commune_code]],
                json={"reason": "Thu hồi nhầm"},
            )
            assert response.status_code in (200, 409), response.text
            if response.status_code == 200:
                return

    def edit_program(self, code: str, courses: list[str]) -> None:
        """A national admin changes a program's courses (which may change who counts)."""
        self.call(
            "PATCH",
            f"/api/v1/programs/{code}",
            "national",
            json={"courses": [{"course_code": c} for c in courses]},
        )
        self.programs[code] = courses

    def change(self) -> None:
        learner_id = self.rng.choice(list(self.learners))
        commune = self.learners[learner_id]
        groups = ["citizen"] + [
            g for g in ("official", "pupil", "worker") if self.rng.random() < 0.4
        ]
        body: dict[str, Any] = {"groups": groups}
        if "official" in groups:
            body.update(official_level=self.rng.choice(["commune", "province"]), agency="UBND")
        if self.villages[commune]:
            body["village_id"] = self.rng.choice([*self.villages[commune], None])
        self.call("PATCH", f"/api/v1/learners/{learner_id}", ADMINS[commune], json=body)

    def erase(self) -> None:
        learner_id = self.rng.choice(list(self.learners))
        commune = self.learners.pop(learner_id)
        self.call("DELETE", f"/api/v1/learners/{learner_id}", ADMINS[commune])

    def add_village(self, commune: str) -> None:
        village = self.call(
            "POST",
            f"/api/v1/communes/{commune}/villages",
            ADMINS[commune],
            json={"name": f"Thôn {len(self.villages[commune]) + 1}"},
        )
        self.villages[commune].append(village["id"])


def _check(client: TestClient, staff: Staff, session: Session, day: date) -> int:
    raw = oracle.load(session)
    units = [
        ("national", "VN", "/api/v1/stats/national"),
        ("province", "01", "/api/v1/stats/provinces/01"),
        ("province", TQ, f"/api/v1/stats/provinces/{TQ}"),
    ]
    units += [("commune", c, f"/api/v1/stats/communes/{c}") for c in COMMUNES]
    compared = 0
    for level, code, url in units:
        answer = client.get(url, params={"as_of": day.isoformat()}, headers=staff["national"])
        assert answer.status_code == 200, answer.text
        got = {
            i["indicator"]: (i["numerator"], i["denominator"], i["denominator_source"])
            for i in answer.json()["indicators"]
        }
        assert got == oracle.indicators(raw, level, code, day), (level, code, day)
        compared += 1
    for commune in COMMUNES:
        answer = client.get(
            f"/api/v1/stats/communes/{commune}/villages",
            params={"as_of": day.isoformat()},
            headers=staff["national"],
        )
        for item in answer.json()["items"]:
            got = {
                i["indicator"]: (i["numerator"], i["denominator"], i["denominator_source"])
                for i in item["indicators"]
            }
            assert got == oracle.indicators(raw, "village", item["unit"]["code"], day)
            compared += 1
    ranking = client.get(
        "/api/v1/stats/provinces/01/communes",
        params={"as_of": day.isoformat(), "limit": 500},
        headers=staff["national"],
    ).json()
    for item in ranking["items"]:
        got = {
            i["indicator"]: (i["numerator"], i["denominator"], i["denominator_source"])
            for i in item["indicators"]
        }
        assert got == oracle.indicators(raw, "commune", item["unit"]["code"], day)
        compared += 1
    return compared


@pytest.mark.long
@pytest.mark.parametrize("seed", [7, 2026])
def test_every_indicator_matches_the_raw_records(
    client: TestClient, staff: Staff, session: Session, seed: int
) -> None:
    field = Field(client, staff, session, seed)
    for step, moment in enumerate(EVENT_DAYS):
        with time_machine.travel(moment, tick=False):
            staff.sign_in_again()
            today = oracle.vn_day(moment)
            if step == 0:
                for commune in COMMUNES:
                    field.add_village(commune)
            if step == 3:
                field.add_village(TQ_COMMUNE)
                tq_communes = session.exec(
                    select(Commune.code).where(Commune.province_code == TQ)
                ).all()
                figures = {"adults": 900, "officials": 40, "pupils": 300, "workers": 200}
                field.call(
                    "PUT",
                    f"/api/v1/provinces/{TQ}/baselines/2026",
                    "tq_admin",
                    json={"communes": {c: figures for c in tq_communes}},
                )
                field.call(
                    "PUT",
                    f"/api/v1/communes/{HN_HOAN_KIEM}/baselines/2026",
                    "hk_admin",
                    json=figures,
                )
                # The pupils' standard comes to include every citizens' course: its holders
                # now count as certified adults too.
                field.edit_program(
                    "CHUAN-HOC-SINH",
                    [*field.programs["CHUAN-HOC-SINH"], "CB-VNEID", "CB-THANHTOAN"],
                )
            if step == 5:
                # The citizens' standard gains a course: the officials' and workers' standards
                # no longer meet it.
                field.edit_program(
                    "CHUAN-NGUOI-DAN", [*field.programs["CHUAN-NGUOI-DAN"], "HS-HOCTAPSO"]
                )
            for _ in range(6):
                field.register(today)
            for _ in range(7):
                field.study(moment - timedelta(hours=1))
            field.change()
            if step % 2 == 1:
                field.erase()
            field.study_late(moment)
            field.correct()
            if step >= 2:
                field.deliver()
                field.revoke()
            if step >= 3:
                field.reinstate()
            session.expire_all()
            bind_context(session, WriteContext(18))
            assert compare(session).agree, step
    staff.sign_in_again()
    compared = sum(_check(client, staff, session, day) for day in CHECK_DAYS)
    assert compared > 100
    # The random field work reached every kind of figure the comparison is meant to cover.
    final = client.get(
        "/api/v1/stats/national", params={"as_of": "2026-11-30"}, headers=staff["national"]
    ).json()["indicators"]
    numerators = {i["indicator"]: i["numerator"] for i in final}
    assert numerators["adults_certified"] > 0
    groups = ("officials_trained", "pupils_equipped", "workers_trained")
    assert sum(numerators[name] for name in groups) > 0
    assert numerators["adults_vneid_confirmed"] > 0
    certificates = session.exec(select(Certificate)).all()
    assert {c.status for c in certificates} == {"valid", "revoked"}
    # Late entries dated certificates before they were recorded, corrections revoked some,
    # and revocations made by mistake were undone.
    assert any(oracle.vn_day(c.attained_at) < oracle.vn_day(c.issued_at) for c in certificates)
    assert any(c.revoked_reason in ("Ghi nhầm người học", "Nhập sai kết quả") for c in certificates)
    assert any(c.reinstated_at is not None for c in certificates)
    tq = client.get(
        f"/api/v1/stats/provinces/{TQ}", params={"as_of": "2026-06-01"}, headers=staff["national"]
    ).json()["indicators"]
    assert {i["denominator_source"] for i in tq} == {"baseline", "registered"}
    # The totals also agree row by row with a rebuild from the raw records.
    bind_context(session, WriteContext(18))
    assert compare(session).agree
