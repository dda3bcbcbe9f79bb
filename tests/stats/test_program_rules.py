"""A change to a program's courses or default group keeps the indicators right at once."""

import threading
import time
import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.catalog import service as catalog
from app.catalog.models import Program, ProgramCourse
from app.catalog.schemas import ProgramUpdate
from app.certificates.models import Certificate
from app.cli import cli
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.ledger import recount, rules
from app.ledger.models import StatTotal
from app.ledger.rebuild import compare
from app.ledger.recount import recount_batch, run_to_end
from app.main import create_app
from tests.factories import (
    CITIZEN_COURSES,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    Staff,
    complete,
    learner_payload,
)
from tests.stats import oracle

PUPIL_PROGRAM = "CHUAN-HOC-SINH"
# After every certificate the tests issue, whatever the time of day the suite runs at.
AS_OF = "2027-06-01"


def _register(client: TestClient, staff: Staff, serial: int, **overrides: Any) -> str:
    response = client.post(
        "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, serial=serial, **overrides),
        headers=staff["hk_member"],
    )
    assert response.status_code == 201, response.text
    learner_id: str = response.json()["id"]
    return learner_id


def _numerator(client: TestClient, staff: Staff, url: str, indicator: str) -> int:
    answer = client.get(url, params={"as_of": AS_OF}, headers=staff["national"])
    assert answer.status_code == 200, answer.text
    found = {i["indicator"]: i["numerator"] for i in answer.json()["indicators"]}
    return int(found[indicator])


def _adults_certified(client: TestClient, staff: Staff, url: str) -> int:
    return _numerator(client, staff, url, "adults_certified")


def _matches_raw_records(client: TestClient, staff: Staff, session: Session) -> None:
    raw = oracle.load(session)
    for level, code, url in (
        ("commune", HN_HOAN_KIEM, f"/api/v1/stats/communes/{HN_HOAN_KIEM}"),
        ("national", "VN", "/api/v1/stats/national"),
    ):
        answer = client.get(url, params={"as_of": AS_OF}, headers=staff["national"]).json()
        got = {
            i["indicator"]: (i["numerator"], i["denominator"], i["denominator_source"])
            for i in answer["indicators"]
        }
        assert got == oracle.indicators(raw, level, code, date.fromisoformat(AS_OF))
    session.expire_all()
    bind_context(session, WriteContext(18))
    assert compare(session).agree


def _pupil_courses(session: Session) -> list[str]:
    links = session.exec(
        select(ProgramCourse.course_code).where(ProgramCourse.program_code == PUPIL_PROGRAM)
    ).all()
    return sorted(links)


def _set_pupil_courses(client: TestClient, staff: Staff, courses: list[str]) -> None:
    response = client.patch(
        f"/api/v1/programs/{PUPIL_PROGRAM}",
        json={"courses": [{"course_code": c} for c in courses]},
        headers=staff["national"],
    )
    assert response.status_code == 200, response.text


def _pupil_holder(client: TestClient, staff: Staff, session: Session, serial: int = 1) -> str:
    """An adult who holds the pupils' certificate and no other."""
    learner = _register(client, staff, serial)
    for course in _pupil_courses(session):
        complete(client, staff["hk_member"], learner, course)
    return learner


def test_a_program_that_comes_to_meet_the_citizens_standard_counts_its_holders(
    client: TestClient, staff: Staff, session: Session
) -> None:
    pupil_courses = _pupil_courses(session)
    # Two adults who pass the pupils' standard (which lacks two of the citizens' courses), one
    # who also passes the citizens' standard, and a minor who passes the pupils' one.
    # One of them is registered as a worker only: the citizens' standard counts every adult.
    holders = [_register(client, staff, serial) for serial in (1, 3)]
    holders.insert(1, _register(client, staff, 2, groups=["worker"]))
    minor = _register(client, staff, 4, birth_date=date(2012, 1, 5), groups=["citizen", "pupil"])
    for learner in [*holders, minor]:
        for course in pupil_courses:
            complete(client, staff["hk_member"], learner, course)
    for course in ("CB-VNEID", "CB-THANHTOAN"):
        complete(client, staff["hk_member"], holders[2], course)
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert _adults_certified(client, staff, commune_url) == 1
    _matches_raw_records(client, staff, session)

    # The pupils' standard grows to include every citizens' course: its adult holders now
    # meet the citizens' standard too, counted from the day their certificate was issued.
    _set_pupil_courses(client, staff, [*pupil_courses, "CB-THANHTOAN", "CB-VNEID"])
    assert _adults_certified(client, staff, commune_url) == 3
    assert _adults_certified(client, staff, "/api/v1/stats/national") == 3
    _matches_raw_records(client, staff, session)
    recounted = session.exec(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "program.update", AuditEvent.target_id == PUPIL_PROGRAM)
        .order_by(col(AuditEvent.id))
    ).all()
    # Everyone holding the pupils' certificate was read again, the minor included.
    assert recounted[-1]["recounted_learners"] == 4

    # And back: the two who hold only the pupils' certificate stop counting.
    _set_pupil_courses(client, staff, pupil_courses)
    assert _adults_certified(client, staff, commune_url) == 1
    _matches_raw_records(client, staff, session)


def _recounted(session: Session) -> int | None:
    details = session.exec(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "program.update", AuditEvent.target_id == PUPIL_PROGRAM)
        .order_by(col(AuditEvent.id))
    ).all()
    value = details[-1].get("recounted_learners")
    return None if value is None else int(value)


def test_a_change_to_the_pupils_standard_moves_the_pupils_only(
    client: TestClient, staff: Staff, session: Session
) -> None:
    # Two adults hold the citizens' certificate; one of them is also a pupil.
    pupil = _register(client, staff, 1, groups=["citizen", "pupil"])
    citizen = _register(client, staff, 2)
    for learner in (pupil, citizen):
        for course in CITIZEN_COURSES:
            complete(client, staff["hk_member"], learner, course)
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert _numerator(client, staff, commune_url, "pupils_equipped") == 0

    # The pupils' standard drops its one course of its own: the citizens' certificate now
    # meets it. Only the pupil among its holders can move, and only the pupil is read again.
    pupil_courses = _pupil_courses(session)
    _set_pupil_courses(client, staff, [c for c in pupil_courses if c != "HS-HOCTAPSO"])
    assert _numerator(client, staff, commune_url, "pupils_equipped") == 1
    assert _numerator(client, staff, commune_url, "adults_certified") == 2
    assert _recounted(session) == 1
    _matches_raw_records(client, staff, session)

    _set_pupil_courses(client, staff, pupil_courses)
    assert _numerator(client, staff, commune_url, "pupils_equipped") == 0
    _matches_raw_records(client, staff, session)


def test_an_edit_that_changes_no_standing_recounts_no_one(
    client: TestClient, staff: Staff, session: Session
) -> None:
    _pupil_holder(client, staff, session)
    response = client.patch(
        f"/api/v1/programs/{PUPIL_PROGRAM}",
        json={"title_en": "Digital-skills standard for pupils"},
        headers=staff["national"],
    )
    assert response.status_code == 200, response.text
    detail = session.exec(
        select(AuditEvent.detail).where(
            AuditEvent.action == "program.update", AuditEvent.target_id == PUPIL_PROGRAM
        )
    ).one()
    assert "recounted_learners" not in detail
    _matches_raw_records(client, staff, session)


def test_a_new_program_that_includes_the_standard_adds_no_one_until_it_is_attained(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = _pupil_holder(client, staff, session)
    citizen = sorted(
        session.exec(
            select(ProgramCourse.course_code).where(ProgramCourse.program_code == "CHUAN-NGUOI-DAN")
        ).all()
    )
    response = client.post(
        "/api/v1/programs",
        json={
            "code": "CHUAN-MO-RONG",
            "title_vi": "Chuẩn mở rộng",
            "courses": [{"course_code": c} for c in [*citizen, "HS-HOCTAPSO"]],
        },
        headers=staff["national"],
    )
    assert response.status_code == 201, response.text
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert _adults_certified(client, staff, commune_url) == 0
    for course in ("CB-VNEID", "CB-THANHTOAN"):
        complete(client, staff["hk_member"], learner, course)
    # The learner now attains the citizens', the pupils' and the new program: counted once.
    assert _adults_certified(client, staff, commune_url) == 1
    _matches_raw_records(client, staff, session)


def test_a_completion_during_a_program_edit_waits_and_is_judged_by_the_rules_that_win(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner = _register(client, staff, 1)
    pupil_courses = _pupil_courses(session)
    for course in pupil_courses[:-1]:
        complete(client, staff["hk_member"], learner, course)

    # A national admin's edit is under way: the pupils' standard now meets the citizens' one,
    # not yet committed.
    national = staff.users["national"]
    assert national.id is not None
    editor = bind_context(Session(session.get_bind(), expire_on_commit=False), WriteContext(18))
    program = editor.get(Program, PUPIL_PROGRAM)
    assert program is not None
    catalog.update_program(
        editor,
        actor=Actor(national.id, national.username, Role.national_admin, None, None),
        program=program,
        data=ProgramUpdate.model_validate(
            {"courses": [{"course_code": c} for c in [*pupil_courses, "CB-VNEID", "CB-THANHTOAN"]]}
        ),
    )
    # Meanwhile the learner passes the last course of the pupils' standard as it stood.
    answered: list[int] = []
    last = threading.Thread(
        target=lambda: answered.append(
            complete(client, staff["hk_member"], learner, pupil_courses[-1])["score"]
        )
    )
    last.start()
    time.sleep(0.5)
    assert last.is_alive(), "the completion did not wait for the edit"
    editor.commit()
    editor.close()
    last.join(timeout=30)
    assert answered == [90]

    issued = session.exec(
        select(Certificate.program_code).where(Certificate.learner_id == uuid.UUID(learner))
    ).all()
    # The request waited for the edit before it read the learner's scores and the standards
    # (on SQLite, to begin at all), and found the longer standard not yet met.
    assert issued == []
    assert _adults_certified(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == 0
    _matches_raw_records(client, staff, session)


def test_stats_rebuild_reports_drifted_totals_and_mends_them(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _pupil_holder(client, staff, session)
    holder = _register(client, staff, 2)
    for course in CITIZEN_COURSES:
        complete(client, staff["hk_member"], holder, course)
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    # Totals that drifted from the raw records: one row lost, one miscounted. (A hand edit
    # raises no version: the commune's figures are read for the first time after it.)
    rows = session.exec(select(StatTotal).where(StatTotal.level == "commune")).all()
    session.delete(next(r for r in rows if r.metric == "cert_adults"))
    next(r for r in rows if r.metric == "reg_adults").count += 5
    session.commit()
    assert _adults_certified(client, staff, commune_url) == 0

    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    checked = runner.invoke(cli, ["stats-rebuild", "--check"])
    assert checked.exit_code == 1, checked.output
    assert "differences: 2" in checked.output
    rebuilt = runner.invoke(cli, ["stats-rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "differences: 2" in rebuilt.output
    assert runner.invoke(cli, ["stats-rebuild", "--check"]).exit_code == 0
    # The rebuild raised every unit's version: the kept answer is not served again.
    assert _adults_certified(client, staff, commune_url) == 1
    _matches_raw_records(client, staff, session)


def _recount_state(client: TestClient, staff: Staff) -> dict[str, Any]:
    response = client.get("/api/v1/stats/recount", headers=staff["hk_admin"])
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _last_vacuum_of_totals(database_url: str) -> object:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        deadline = time.monotonic() + 10
        while True:
            with engine.connect() as connection:
                vacuumed = connection.exec_driver_sql(
                    "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'stat_total'"
                ).scalar()
            if vacuumed is not None or time.monotonic() > deadline:
                return vacuumed
            time.sleep(0.2)
    finally:
        engine.dispose()


def _certificate_of(session: Session, learner: str) -> str:
    found = session.exec(
        select(Certificate.id).where(Certificate.learner_id == uuid.UUID(learner))
    ).one()
    return str(found)


def test_a_recount_larger_than_a_batch_goes_on_after_the_edit_and_writes_meanwhile_stay_right(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recount, "RECOUNT_BATCH", 1)
    pupil_courses = _pupil_courses(session)
    holders = [_pupil_holder(client, staff, session, serial) for serial in range(1, 7)]
    # Two who are one course short of the pupils' standard: they attain it, widened, during
    # the recount.
    late = [_register(client, staff, serial) for serial in (7, 8)]
    for learner in late:
        for course in pupil_courses[:-1]:
            complete(client, staff["hk_member"], learner, course)
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    assert _adults_certified(client, staff, commune_url) == 0
    assert _recount_state(client, staff)["pending"] is False

    # The pupils' standard comes to meet the citizens' one: six holders move, one per batch.
    # The edit answers after the first batch, and the rest is left to the recount.
    widened = [*pupil_courses, "CB-THANHTOAN", "CB-VNEID"]
    _set_pupil_courses(client, staff, widened)
    state = _recount_state(client, staff)
    assert state["pending"] is True
    assert state["latest"]["program_code"] == PUPIL_PROGRAM
    assert state["latest"]["recounted_learners"] == 1
    assert _adults_certified(client, staff, commune_url) == 1
    # Mid-way the totals agree with the raw records, each person counted by the rules the
    # recount has reached them with.
    session.expire_all()
    bind_context(session, WriteContext(18))
    assert compare(session).agree

    # Writes go on meanwhile: two people attain the widened standard (and the citizens'),
    # one certificate is revoked, and one holder stops being registered as a citizen (still
    # an adult, so still counted).
    for learner in late:
        for course in (pupil_courses[-1], "CB-THANHTOAN", "CB-VNEID"):
            complete(client, staff["hk_member"], learner, course)
    revoked = client.post(
        f"/api/v1/certificates/{_certificate_of(session, holders[3])}/revoke",
        json={"reason": "Cấp nhầm người"},
        headers=staff["hk_admin"],
    )
    assert revoked.status_code == 200, revoked.text
    moved = client.patch(
        f"/api/v1/learners/{holders[4]}", json={"groups": ["worker"]}, headers=staff["hk_admin"]
    )
    assert moved.status_code == 200, moved.text
    session.expire_all()
    assert compare(session).agree

    # Another change to a standard waits for this recount to finish, and changes nothing.
    narrowed = [c for c in widened if c != "HS-HOCTAPSO"]
    refused = client.patch(
        f"/api/v1/programs/{PUPIL_PROGRAM}",
        json={"courses": [{"course_code": c} for c in narrowed]},
        headers={**staff["national"], "Accept-Language": "en"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "recount" in refused.json()["detail"]
    assert _pupil_courses(session) == sorted(widened)

    monkeypatch.setenv("DATABASE_URL", database_url)
    finished = CliRunner().invoke(cli, ["stats-recount"])
    assert finished.exit_code == 0, finished.output
    if database_url.startswith("postgresql"):
        # The rewritten totals are vacuumed, so reads stay on the index alone.
        assert _last_vacuum_of_totals(database_url) is not None
    state = _recount_state(client, staff)
    assert state["pending"] is False
    assert state["latest"]["finished"] is True
    assert f"{state['latest']['recounted_learners']} people recounted" in finished.output
    # Six holders and the two late ones, less the revoked certificate.
    assert _adults_certified(client, staff, commune_url) == 7
    _matches_raw_records(client, staff, session)
    events = session.exec(
        select(AuditEvent.detail).where(AuditEvent.action == "stats.recount")
    ).all()
    assert [e["recount_id"] for e in events] == [state["latest"]["id"]]

    # And now another change goes through.
    _set_pupil_courses(client, staff, pupil_courses)
    assert _recount_state(client, staff)["pending"] is True
    assert "no recount is pending" not in CliRunner().invoke(cli, ["stats-recount"]).output
    # The two late ones hold the citizens' own certificate too, and keep counting.
    assert _adults_certified(client, staff, commune_url) == 2
    _matches_raw_records(client, staff, session)


def test_undoing_a_change_mid_way_moves_back_only_those_the_recount_had_reached(
    client: TestClient, staff: Staff, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recount, "RECOUNT_BATCH", 1)
    pupil_courses = _pupil_courses(session)
    for serial in range(1, 6):
        _pupil_holder(client, staff, session, serial)
    commune_url = f"/api/v1/stats/communes/{HN_HOAN_KIEM}"
    _set_pupil_courses(client, staff, [*pupil_courses, "CB-THANHTOAN", "CB-VNEID"])
    engine = session.get_bind()
    recount_batch(engine, adult_age=18)
    started = _recount_state(client, staff)["latest"]
    assert started["recounted_learners"] == 2
    assert _adults_certified(client, staff, commune_url) == 2

    # A mistaken edit is taken back before its recount has finished.
    _set_pupil_courses(client, staff, pupil_courses)
    undoing = _recount_state(client, staff)["latest"]
    assert undoing["id"] != started["id"]
    # The edit moved back the first of the two itself; the other waits for the recount.
    assert undoing["recounted_learners"] == 1
    assert _adults_certified(client, staff, commune_url) == 1
    session.expire_all()
    bind_context(session, WriteContext(18))
    assert compare(session).agree
    detail = session.exec(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "program.update", AuditEvent.target_id == PUPIL_PROGRAM)
        .order_by(col(AuditEvent.id).desc())
    ).first()
    assert detail is not None
    assert detail["undoes_recount"] == started["id"]

    finished = run_to_end(engine, adult_age=18)
    assert finished is not None
    assert finished.id == undoing["id"]
    # Only the two the first recount had reached were read again.
    assert finished.recounted == 2
    assert _recount_state(client, staff)["pending"] is False
    assert _adults_certified(client, staff, commune_url) == 0
    _matches_raw_records(client, staff, session)


def test_the_service_runs_a_pending_recount_in_the_background(
    settings: Settings,
    staff: Staff,
    client: TestClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recount, "RECOUNT_BATCH", 1)
    pupil_courses = _pupil_courses(session)
    for serial in (1, 2, 3):
        _pupil_holder(client, staff, session, serial)
    _set_pupil_courses(client, staff, [*pupil_courses, "CB-THANHTOAN", "CB-VNEID"])
    assert _recount_state(client, staff)["pending"] is True

    # A second instance of the service, as another worker process would be, with its
    # background recount on.
    working = settings.model_copy(update={"recount_worker": True, "recount_poll_seconds": 0.05})
    with TestClient(create_app(working)) as other:
        deadline = time.monotonic() + 30
        while _recount_state(other, staff)["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
    state = _recount_state(client, staff)
    assert state["pending"] is False
    assert state["latest"]["recounted_learners"] == 3
    assert _adults_certified(client, staff, f"/api/v1/stats/communes/{HN_HOAN_KIEM}") == 3
    _matches_raw_records(client, staff, session)


def test_looking_for_a_recount_when_none_is_pending_waits_for_no_one(
    client: TestClient, session: Session
) -> None:
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no lock to wait for but its one writer's")
    # A transaction holds the counting rules still, as a program edit or a rebuild does.
    holder = Session(engine)
    rules.hold_counting_rules(holder)
    looked: list[object] = []
    look = threading.Thread(target=lambda: looked.append(recount_batch(engine, adult_age=18)))
    look.start()
    look.join(timeout=10)
    holder.rollback()
    holder.close()
    assert not look.is_alive(), "the background task's look waited for the rules' lock"
    assert looked == [None]


def test_the_indicators_say_while_a_recount_is_under_way(
    client: TestClient,
    staff: Staff,
    session: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recount, "RECOUNT_BATCH", 1)
    pupil_courses = _pupil_courses(session)
    for serial in (1, 2, 3):
        _pupil_holder(client, staff, session, serial)
    urls = [
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}",
        f"/api/v1/stats/communes/{HN_CUA_NAM}",  # nobody there: the recount never touches it
        "/api/v1/stats/provinces/01",
        "/api/v1/stats/national",
        "/api/v1/stats/provinces/01/communes",
    ]

    def notices() -> list[object]:
        bodies = [client.get(url, headers=staff["national"]).json() for url in urls]
        return [b["recount"] for b in bodies[:4]] + [i["recount"] for i in bodies[4]["items"]]

    assert set(map(str, notices())) == {"None"}  # and each unit's answer is now kept
    _set_pupil_courses(client, staff, [*pupil_courses, "CB-THANHTOAN", "CB-VNEID"])
    assert _recount_state(client, staff)["pending"] is True
    under_way = notices()
    assert {(n["program_code"], n["started_at"]) for n in under_way} == {  # type: ignore[index]
        (PUPIL_PROGRAM, _recount_state(client, staff)["latest"]["started_at"])
    }
    assert _adults_certified(client, staff, urls[0]) == 1  # one batch done, by the edit

    # Taken back mid-way: the recount that moves the one person back is the one under way.
    _set_pupil_courses(client, staff, pupil_courses)
    undoing = _recount_state(client, staff)["latest"]
    assert undoing["started_at"] != under_way[0]["started_at"]  # type: ignore[index]
    assert {(n["program_code"], n["started_at"]) for n in notices()} == {  # type: ignore[index]
        (PUPIL_PROGRAM, undoing["started_at"])
    }

    monkeypatch.setenv("DATABASE_URL", database_url)
    finished = CliRunner().invoke(cli, ["stats-recount"])
    assert finished.exit_code == 0, finished.output
    assert set(map(str, notices())) == {"None"}
    assert _adults_certified(client, staff, urls[0]) == 0
