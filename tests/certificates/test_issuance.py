import itertools

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.certificates.models import Certificate
from tests.factories import (
    CITIZEN_COURSES,
    CITIZEN_PROGRAM,
    HN_HOAN_KIEM,
    OFFICIAL_ONLY_COURSES,
    Staff,
    complete,
    learner_payload,
)


def _learner(client: TestClient, staff: Staff, serial: int, **overrides: object) -> str:
    response = client.post(
        "/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, serial, **overrides),
        headers=staff["hk_member"],
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _certificates(session: Session, learner_id: str) -> list[tuple[str, str]]:
    rows = session.exec(select(Certificate)).all()
    return sorted((c.program_code, c.status) for c in rows if str(c.learner_id) == learner_id)


def test_passing_every_required_course_issues_one_certificate(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner_id = _learner(client, staff, 1)
    headers = staff["hk_member"]
    for course in CITIZEN_COURSES[:-1]:
        complete(client, headers, learner_id, course)
    assert _certificates(session, learner_id) == []
    complete(client, headers, learner_id, CITIZEN_COURSES[-1], score=50)  # failed: no certificate
    assert _certificates(session, learner_id) == []
    complete(client, headers, learner_id, CITIZEN_COURSES[-1], score=75)
    assert _certificates(session, learner_id) == [(CITIZEN_PROGRAM, "valid")]
    for course in CITIZEN_COURSES:  # repeated and better results change nothing
        complete(client, headers, learner_id, course, score=99)
    assert _certificates(session, learner_id) == [(CITIZEN_PROGRAM, "valid")]


def test_issue_once_whatever_the_order_of_completions(
    client: TestClient, staff: Staff, session: Session
) -> None:
    orders = list(itertools.islice(itertools.permutations(CITIZEN_COURSES), 0, 5000, 1700))
    for serial, order in enumerate(orders, start=1):
        learner_id = _learner(client, staff, serial)
        for course in order + order[:2]:
            complete(client, staff["hk_member"], learner_id, course)
        assert _certificates(session, learner_id) == [(CITIZEN_PROGRAM, "valid")]


def test_an_official_attains_both_standards(
    client: TestClient, staff: Staff, session: Session
) -> None:
    learner_id = _learner(
        client,
        staff,
        1,
        groups=["citizen", "official"],
        official_level="commune",
        agency="UBND phường Hoàn Kiếm",
    )
    for course in OFFICIAL_ONLY_COURSES + CITIZEN_COURSES:
        complete(client, staff["hk_member"], learner_id, course, score=95)
    assert _certificates(session, learner_id) == [
        ("CHUAN-CBCCVC", "valid"),
        (CITIZEN_PROGRAM, "valid"),
    ]
