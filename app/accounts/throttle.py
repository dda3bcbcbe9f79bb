"""Counting sign-in attempts per account, per account and address, and per address.

An attempt is counted before its password is checked, by one atomic upsert per key, so of
many concurrent attempts at most the limit's get as far as the (costly) password check. A
successful attempt then takes its reservation back.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import LoginThrottle
from app.core.config import Settings
from app.core.db import utcnow, write_bind


@dataclass(frozen=True)
class ThrottleKey:
    """A hashed counter key and how many attempts it allows per window."""

    key: str
    limit: int
    # Cleared by a successful sign-in (the address's count only takes its attempt back).
    cleared_on_success: bool


def throttle_keys(settings: Settings, username: str, address: str | None) -> list[ThrottleKey]:
    """Keys are hashed so that no username or address sits in the table in clear."""
    account = username.strip().casefold()
    keys = [ThrottleKey(_hash("user:" + account), settings.login_max_failures_per_account, True)]
    if address:
        keys.append(
            ThrottleKey(_hash(f"user-addr:{account}|{address}"), settings.login_max_failures, True)
        )
        keys.append(
            ThrottleKey(_hash("addr:" + address), settings.login_max_failures_per_address, False)
        )
    # One order for every transaction, so that two attempts never wait for each other's rows.
    return sorted(keys, key=lambda k: k.key)


def reserve_attempt(engine: Engine, keys: list[ThrottleKey], *, window_seconds: int) -> int:
    """Count one attempt on every key; seconds to wait if any key is past its limit, else 0.

    Commits at once, in a transaction of its own, so that concurrent attempts see it.
    """
    now = utcnow()
    window_start_before = now - timedelta(seconds=window_seconds)
    wait = 0
    with Session(write_bind(engine)) as session:
        within_limit = []
        for key in keys:
            failures, started = _increment(session, key.key, now, window_start_before)
            if failures > key.limit:
                remaining = _window_end(started, window_seconds) - now
                wait = max(wait, int(remaining.total_seconds()) + 1)
            else:
                within_limit.append(key)
        if wait:
            # A refused attempt checks no password: it uses up nothing of the other limits
            # (hammering one locked account does not lock its address for everyone else).
            _take_back(session, within_limit)
        session.commit()
    return wait


def seconds_locked(session: Session, keys: list[ThrottleKey], *, window_seconds: int) -> int:
    """Seconds to wait if any key is past its limit in its current window, else 0 (reads only)."""
    now = utcnow()
    rows = session.exec(
        select(LoginThrottle).where(col(LoginThrottle.key).in_([key.key for key in keys]))
    ).all()
    limits = {key.key: key.limit for key in keys}
    wait = 0
    for row in rows:
        end = _window_end(row.window_started_at, window_seconds)
        if row.failures >= limits[row.key] and end > now:
            wait = max(wait, int((end - now).total_seconds()) + 1)
    return wait


def release_attempt(session: Session, keys: list[ThrottleKey]) -> None:
    """A successful sign-in clears its account's counts and takes its attempt back from the rest."""
    # Key by key, in the order reservations lock them, so the two never wait for each other.
    for key in keys:
        if key.cleared_on_success:
            session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key.key))
        else:
            _take_back(session, [key])
    session.flush()


def _take_back(session: Session, keys: list[ThrottleKey]) -> None:
    """Count one attempt less on each key."""
    if keys:
        session.execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.key).in_([key.key for key in keys]))
            .where(col(LoginThrottle.failures) > 0)
            .values(failures=col(LoginThrottle.failures) - 1)
        )


def _increment(
    session: Session, key: str, now: datetime, window_start_before: datetime
) -> tuple[int, datetime]:
    """Add one to a key's count (starting a new window if the last one is over), atomically."""
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    expired = table.c.window_started_at <= window_start_before
    statement = dialect.insert(table).values(key=key, failures=1, window_started_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((expired, literal(1)), else_=table.c.failures + 1),
            "window_started_at": case(
                (expired, literal(now, type_=table.c.window_started_at.type)),
                else_=table.c.window_started_at,
            ),
        },
    ).returning(table.c.failures, table.c.window_started_at)
    failures, started = session.execute(statement).one()
    return int(failures), started


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _window_end(started: datetime, window_seconds: int) -> datetime:
    return started + timedelta(seconds=window_seconds)
