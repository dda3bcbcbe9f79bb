"""Phones' outboxes replayed, reordered and duplicated, against a model of what must be stored.

Each example draws a few people and two phones (two team members of one commune) that each
register some of them and record course results for them, offline. The outboxes are then sent
in drawn batches: any subset of a phone's visits, repeated, in any order, any number of times.
Whatever happens, the database must hold each person once and, per person and course, one
result: the best one sent; and every answer must name the same stored ids.
"""

import itertools
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from app.learners.models import Learner
from app.training.models import Completion
from tests.factories import HN_HOAN_KIEM, Staff, learner_payload

COURSES = ("CB-VNEID", "CB-ANTOAN")
PHONES = ("hk_member", "hk_admin")
PEOPLE = 4
serials = itertools.count(10_000, PEOPLE)


@dataclass
class Visit:
    person: int
    results: list[tuple[int, int]]  # (course, score)


@dataclass
class Phone:
    # The phone registers a person once (one client_id per person) and records results.
    learner_ids: dict[int, str] = field(default_factory=dict)
    visits: list[tuple[Visit, list[str]]] = field(default_factory=list)


visits = st.builds(
    Visit,
    person=st.integers(0, PEOPLE - 1),
    results=st.lists(
        st.tuples(st.integers(0, len(COURSES) - 1), st.sampled_from([40, 65, 70, 90])),
        max_size=2,
    ),
)
outboxes = st.lists(st.lists(visits, min_size=1, max_size=4), min_size=2, max_size=2)
sends = st.lists(
    st.tuples(
        st.integers(0, 1),  # which phone
        st.lists(st.integers(0, 3), min_size=1, max_size=6),  # which visits (repeats allowed)
        st.randoms(use_true_random=False),  # the order inside the batch
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn_outboxes=outboxes, drawn_sends=sends)
def test_replayed_and_reordered_outboxes_match_the_model(
    client: TestClient,
    staff: Staff,
    session: Session,
    drawn_outboxes: list[list[Visit]],
    drawn_sends: list[tuple[int, list[int], random.Random]],
) -> None:
    first_serial = next(serials)
    people = [learner_payload(HN_HOAN_KIEM, serial=first_serial + n) for n in range(PEOPLE)]
    phones = [Phone(), Phone()]
    for phone, outbox in zip(phones, drawn_outboxes, strict=True):
        for visit in outbox:
            phone.learner_ids.setdefault(visit.person, str(uuid.uuid4()))
            phone.visits.append((visit, [str(uuid.uuid4()) for _ in visit.results]))

    sent_people: set[int] = set()
    best: dict[tuple[int, int], int] = {}
    learner_answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    result_answers: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for phone_index, chosen, order in drawn_sends:
        phone = phones[phone_index]
        picked = [phone.visits[i % len(phone.visits)] for i in chosen]
        order.shuffle(picked)
        learners, completions, labels = [], [], []
        for visit, result_ids in picked:
            learners.append({**people[visit.person], "client_id": phone.learner_ids[visit.person]})
            labels.append(("learner", visit.person))
            for (course, score), client_id in zip(visit.results, result_ids, strict=True):
                completions.append(
                    {
                        "client_id": client_id,
                        "learner_client_id": phone.learner_ids[visit.person],
                        "course_code": COURSES[course],
                        "completed_at": "2026-03-14T09:30:00+07:00",
                        "score": score,
                        "method": "home_visit",
                    }
                )
                labels.append(("result", (visit.person, course)))
                key = (visit.person, course)
                best[key] = max(best.get(key, 0), score)
            sent_people.add(visit.person)
        response = client.post(
            "/api/v1/sync",
            json={"learners": learners, "completions": completions},
            headers=staff[PHONES[phone_index]],
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        learner_labels = [label for label in labels if label[0] == "learner"]
        result_labels = [label for label in labels if label[0] == "result"]
        for (_, person), result in zip(learner_labels, results[: len(learners)], strict=True):
            learner_answers[person].append(result)
        for (_, key), result in zip(result_labels, results[len(learners) :], strict=True):
            result_answers[key].append(result)  # type: ignore[index]

    # Every answer: stored, one id per person and per result, created exactly once.
    for answers in [*learner_answers.values(), *result_answers.values()]:
        assert {a["status"] for a in answers} <= {"created", "duplicate"}, answers
        assert len({a["id"] for a in answers}) == 1
        assert [a["status"] for a in answers].count("created") == 1

    # The database against the model.
    personal_ids = client.app.state.personal_ids  # type: ignore[attr-defined]
    session.expire_all()
    stored: dict[int, Learner] = {}
    for person, body in enumerate(people):
        digest = personal_ids.blind_index(body["citizen_id"])
        rows = session.exec(select(Learner).where(Learner.citizen_id_hash == digest)).all()
        assert len(rows) == (1 if person in sent_people else 0)
        if rows:
            stored[person] = rows[0]
            assert str(rows[0].id) == learner_answers[person][0]["id"]
    for person, learner in stored.items():
        completions = session.exec(
            select(Completion).where(Completion.learner_id == learner.id)
        ).all()
        expected = {COURSES[c]: s for (p, c), s in best.items() if p == person}
        assert {c.course_code: c.score for c in completions} == expected
        for c in completions:
            key = (person, COURSES.index(c.course_code))
            assert str(c.id) == result_answers[key][0]["id"]
    assert session.exec(select(Learner).where(col(Learner.citizen_id_hash).is_(None))).all() == []
