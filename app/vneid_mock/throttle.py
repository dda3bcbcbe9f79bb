"""Counting the mock's sign-in attempts per citizen and per client address, atomically.

Each attempt is counted before its passcode is checked, in one statement per key, so that
concurrent guesses cannot all slip under the limit; a successful sign-in gives its count back.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.db import utcnow, write_bind
from app.core.types import UTCDateTime
from app.vneid_mock.models import VneidSignInThrottle

TABLE = VneidSignInThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    key: str
    max_attempts: int


def limits(
    citizen_hash: str, address: str | None, *, per_citizen: int, per_address: int
) -> list[Limit]:
    """The keys an attempt counts against; hashed, so no number or address is stored."""
    keys = [Limit(_digest("citizen:" + citizen_hash), per_citizen)]
    if address:
        keys.append(Limit(_digest("addr:" + address), per_address))
    return keys


def reserve(engine: Engine, keys: list[Limit], *, window_seconds: int) -> int:
    """Count one attempt on every key; answers the seconds to wait if one is over its limit."""
    now = utcnow()
    cutoff = now - timedelta(seconds=window_seconds)
    wait = 0
    with Session(write_bind(engine)) as session:
        for limit in keys:
            attempts, started = _count(session, limit.key, now=now, cutoff=cutoff)
            if attempts > limit.max_attempts:
                remaining = started + timedelta(seconds=window_seconds) - now
                wait = max(wait, int(remaining.total_seconds()) + 1)
        if wait:
            # A refused attempt checks no passcode: it takes nothing from any allowance.
            _give_back(session, keys)
        session.commit()
    return wait


def release(engine: Engine, keys: list[Limit]) -> None:
    """A successful sign-in: the citizen starts afresh, the address gets its attempt back."""
    with Session(write_bind(engine)) as session:
        citizen, *others = keys
        session.execute(delete(TABLE).where(TABLE.c.key == citizen.key))
        _give_back(session, others)
        session.commit()


def _give_back(session: Session, keys: list[Limit]) -> None:
    for limit in keys:
        session.execute(
            update(TABLE)
            .where(TABLE.c.key == limit.key, TABLE.c.attempts > 0)
            .values(attempts=TABLE.c.attempts - 1)
        )


def _count(session: Session, key: str, *, now: datetime, cutoff: datetime) -> tuple[int, datetime]:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    moment = literal(now, UTCDateTime())
    expired = TABLE.c.window_started_at <= literal(cutoff, UTCDateTime())
    statement = (
        insert(TABLE)
        .values(key=key, attempts=1, window_started_at=moment)
        .on_conflict_do_update(
            index_elements=[TABLE.c.key],
            set_={
                "attempts": case((expired, 1), else_=TABLE.c.attempts + 1),
                "window_started_at": case((expired, moment), else_=TABLE.c.window_started_at),
            },
        )
        .returning(TABLE.c.attempts, TABLE.c.window_started_at)
    )
    attempts, started = session.execute(statement).one()
    return int(attempts), started


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
