"""Counting failed sign-ins per username and per client address."""

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import LoginThrottle
from app.core.db import utcnow


def throttle_keys(username: str, address: str | None) -> list[str]:
    """Keys are hashed so that no username or address sits in the table in clear."""
    keys = ["user:" + username.strip().lower()]
    if address:
        keys.append("addr:" + address)
    return [hashlib.sha256(k.encode()).hexdigest() for k in keys]


def seconds_locked(
    engine: Engine, keys: list[str], *, max_failures: int, window_seconds: int
) -> int:
    """Seconds until a new attempt is allowed, or 0 if it is allowed now."""
    now = utcnow()
    wait = 0
    with Session(engine) as session:
        for key in keys:
            row = session.get(LoginThrottle, key)
            if row is None or row.failures < max_failures:
                continue
            remaining = _window_end(row.window_started_at, window_seconds) - now
            wait = max(wait, int(remaining.total_seconds()) + 1)
    return wait


def register_failure(session: Session, keys: list[str], *, window_seconds: int) -> None:
    """Count one failure for every key."""
    now = utcnow()
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is None:
            session.add(LoginThrottle(key=key, failures=1, window_started_at=now))
        elif _window_end(row.window_started_at, window_seconds) <= now:
            row.failures, row.window_started_at = 1, now
        else:
            row.failures += 1
    session.flush()


def clear(session: Session, username: str) -> None:
    """A successful sign-in clears the username's count (not the address's)."""
    row = session.get(LoginThrottle, throttle_keys(username, None)[0])
    if row is not None:
        session.delete(row)


def _window_end(started: datetime, window_seconds: int) -> datetime:
    return started + timedelta(seconds=window_seconds)
