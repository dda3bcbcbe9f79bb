"""The `Idempotency-Key` header, as the IETF httpapi draft describes it.

A key belongs to one caller. The first request with a key claims it in a short transaction of
its own, committed before the work starts, so a concurrent retry sees it:

* a retry after the first request finished answers the first answer (status and body);
* a retry while the first is still running answers 409 (with Retry-After);
* the same key with a different request (method, path or body) answers 422.

The answer is stored in the same transaction as the work, so it is never stored without the
records it reports. A key expires after `IDEMPOTENCY_TTL_HOURS` (24 h by default) and is then
purged; a request that died holding a claim (a crash) gives it up after
`IDEMPOTENCY_LOCK_SECONDS` on SQLite, and at once on PostgreSQL (see `_claim_held`). The
records' own client_ids keep retries safe after either.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.accounts.actor import Actor
from app.core import holds
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid
from app.sync.models import IdempotencyKey

IN_PROGRESS = "in_progress"
DONE = "done"


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: Any


@dataclass(frozen=True)
class Policy:
    ttl: timedelta
    lock: timedelta


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the method, path and canonical JSON body of a request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def claim(
    session: Session,
    *,
    actor: Actor,
    key: str,
    request_fingerprint: str,
    policy: Policy,
    now: datetime | None = None,
) -> StoredAnswer | None:
    """Claim `key` for this request, or answer what its first use answered.

    Commits the session: the claim must be visible to concurrent retries before the work
    starts (the one place in a request where a service commits).
    """
    now = now or utcnow()
    session.commit()  # the request's reads so far (SQLite: frees the write lock)
    if holds.supported(session):
        return _claim_held(
            session, actor=actor, key=key, request_fingerprint=request_fingerprint, policy=policy
        )
    existing = session.get(IdempotencyKey, (actor.user_id, key), with_for_update=True)
    if existing is not None and existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        row = IdempotencyKey(
            user_id=actor.user_id,
            key=key,
            fingerprint=request_fingerprint,
            status=IN_PROGRESS,
            created_at=now,
            expires_at=now + policy.ttl,
            locked_until=now + policy.lock,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            # Another request with the same key claimed it a moment ago.
            session.rollback()
            raise _in_progress(policy) from None
        session.commit()
        return None
    if existing.fingerprint != request_fingerprint:
        session.rollback()
        raise Invalid("sync.key_reused")
    if existing.status == DONE:
        answer = StoredAnswer(
            existing.response_status or 200, json.loads(existing.response_body or "null")
        )
        session.rollback()
        return answer
    if existing.locked_until > now:
        session.rollback()
        raise _in_progress(policy)
    # The request that held it died: this one takes over (the records' client_ids make
    # doing the work again safe).
    existing.locked_until = now + policy.lock
    session.add(existing)
    session.commit()
    return None


def _claim_held(
    session: Session, *, actor: Actor, key: str, request_fingerprint: str, policy: Policy
) -> StoredAnswer | None:
    """`claim` on PostgreSQL: the key is held by an advisory lock on the request's own
    transaction, which does the work and stores the answer, instead of a claim committed
    ahead of it. A retry while the work runs finds the lock taken (409); if the request dies,
    its connection goes and the lock with it, and with its transaction the uncommitted claim:
    the retry does the work at once. A claim committed "in progress" (by a service holding keys
    by their lease alone) still waits for its lease, the backstop.
    """
    if not holds.try_in_transaction(session, holds.key(holds.IDEMPOTENCY, actor.user_id, key)):
        session.rollback()
        raise _in_progress(policy)
    now = utcnow()
    existing = session.get(IdempotencyKey, (actor.user_id, key), with_for_update=True)
    if existing is not None and existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        session.add(
            IdempotencyKey(
                user_id=actor.user_id,
                key=key,
                fingerprint=request_fingerprint,
                status=IN_PROGRESS,
                created_at=now,
                expires_at=now + policy.ttl,
                locked_until=now + policy.lock,
            )
        )
        session.flush()
        return None
    if existing.fingerprint != request_fingerprint:
        session.rollback()
        raise Invalid("sync.key_reused")
    if existing.status == DONE:
        answer = StoredAnswer(
            existing.response_status or 200, json.loads(existing.response_body or "null")
        )
        session.rollback()
        return answer
    if existing.locked_until > now:
        # Claimed and committed by a service that holds keys by their lease alone: the
        # lease decides.
        session.rollback()
        raise _in_progress(policy)
    existing.locked_until = now + policy.lock
    session.add(existing)
    session.flush()
    return None


def _in_progress(policy: Policy) -> Conflict:
    seconds = max(1, min(5, int(policy.lock.total_seconds())))
    return Conflict("sync.key_in_progress", headers={"Retry-After": str(seconds)})


def complete(session: Session, *, actor: Actor, key: str, status: int, body: Any) -> None:
    """Store the answer with the work, in the request's transaction."""
    row = session.get(IdempotencyKey, (actor.user_id, key))
    if row is None:  # purged while we worked: nothing to replay later, the work stands
        return
    row.status = DONE
    row.response_status = status
    row.response_body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    session.add(row)
    session.flush()


def release(session: Session, *, actor: Actor, key: str) -> None:
    """Give the key up after the work failed, so a retry does it again (commits)."""
    session.rollback()
    session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == actor.user_id,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.status) == IN_PROGRESS,
        )
    )
    session.commit()


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Forget keys past their expiry; answers how many."""
    result = session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
