"""Arranging certified learners and driving the delivery outbox, for certificate tests."""

from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.certificates.delivery import Outbox, deliver_due
from app.core.clock import local_date
from app.core.db import utcnow
from app.ledger.models import StatTotal
from app.vneid_mock.service import CitizenIndex, add_citizen
from tests.factories import (
    CITIZEN_COURSES,
    HN_HOAN_KIEM,
    Staff,
    citizen_id_for,
    complete,
    learner_payload,
)

PASSCODE = "246810"


def register(
    client: TestClient,
    staff: Staff,
    serial: int,
    *,
    commune: str = HN_HOAN_KIEM,
    by: str = "hk_member",
    **overrides: Any,
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/learners", json=learner_payload(commune, serial, **overrides), headers=staff[by]
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def certify(
    client: TestClient, staff: Staff, learner_id: str, *, by: str = "hk_member"
) -> dict[str, Any]:
    """Pass every course of the citizens' standard; answers the certificate."""
    for course in CITIZEN_COURSES:
        complete(client, staff[by], learner_id, course)
    listed = client.get(f"/api/v1/learners/{learner_id}/certificates", headers=staff[by])
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    assert len(items) == 1
    return items[0]


def enrol_citizen(
    client: TestClient,
    session: Session,
    serial: int,
    *,
    full_name: str = "Nguyễn Văn An",
    birth_date: date = date(1985, 4, 12),
    sex: str = "male",
) -> str:
    """Put a person in the mock VNeID registry; answers their ID number."""
    citizen_id = citizen_id_for(birth_date, sex, serial=serial)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    add_citizen(
        session,
        index=CitizenIndex(settings),
        citizen_id=citizen_id,
        full_name=full_name,
        birth_date=birth_date,
        passcode=PASSCODE,
    )
    session.commit()
    return citizen_id


def outbox(client: TestClient) -> Outbox:
    box: Outbox = client.app.state.outbox  # type: ignore[attr-defined]
    return box


def deliver(client: TestClient, now: datetime | None = None) -> dict[str, int]:
    """One pass of the delivery worker, in the app's own event loop."""
    assert client.portal is not None
    results = client.portal.call(lambda: deliver_due(outbox(client), now=now))
    return dict(results)


def later(hours: int) -> datetime:
    return utcnow() + timedelta(hours=hours)


def metric_today(session: Session, metric: str, commune: str = HN_HOAN_KIEM) -> int:
    """A running total's value in a commune today (Vietnam's calendar)."""
    total = session.exec(
        select(func.sum(StatTotal.count)).where(
            StatTotal.level == "commune",
            StatTotal.unit_code == commune,
            StatTotal.metric == metric,
            col(StatTotal.effective_on) <= local_date(utcnow()),
        )
    ).one()
    return int(total or 0)
