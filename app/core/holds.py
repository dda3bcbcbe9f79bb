"""Holds tied to their holder's database connection: PostgreSQL advisory locks.

A time lease outlives a holder that crashed until it runs out; an advisory lock ends with its
holder's connection (or transaction), the moment the process dies. The service takes one:

* for the work of a phone's sync batch under its `Idempotency-Key` (the request's transaction);
* on an import a worker stores (a connection of the worker's own, held while it works);
* on the certificates a delivery pass is sending to VNeID (the same way);
* around creating the first national admin at start-up (the start-up's transaction).

On SQLite there are none: the time leases decide there, and on PostgreSQL they stay beside
the locks as a backstop.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

# One namespace per kind of hold, so that keys of different kinds never meet.
ADMIN = "admin"
IDEMPOTENCY = "idempotency"
IMPORT = "import"
DELIVERY = "delivery"


def key(kind: str, *parts: object) -> int:
    """A signed 64-bit lock key for the thing named by `parts` (a hash: two things sharing
    one would only wait for each other)."""
    name = "\x1f".join([kind, *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


def supported(bind: Session | Connection | Engine) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


def wait_in_transaction(session: Session, lock: int) -> None:
    """Take `lock` until the session's transaction ends, waiting for its holder (PostgreSQL)."""
    if supported(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})


def try_in_transaction(session: Session, lock: int) -> bool:
    """Take `lock` until the session's transaction ends, unless another holds it.

    True on SQLite, which has none (its callers rely on their leases).
    """
    if not supported(session):
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock}).scalar())


class Holder:
    """A connection of its own that holds locks for a worker, released all at once by `close`,
    or by the server when the worker's process dies and its connection with it.

    The connection runs in autocommit: holding a lock needs no transaction, and an idle one
    kept open would hold back vacuum. On SQLite it takes nothing and every `take` succeeds.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.supported = supported(engine)
        self._connection: Connection | None = None

    def take(self, lock: int) -> bool:
        """Whether this holder now holds `lock` (False: a live holder has it)."""
        if not self.supported:
            return True
        if self._connection is None:  # opened at the first lock, not while idle
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        taken = self._connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock})
        return bool(taken.scalar())

    def give_up(self, lock: int) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})

    def close(self) -> None:
        """Release every lock, before answering: a closed connection's locks go only once
        its server process has noticed, and the next claim may come sooner."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock_all()"))
        except Exception:
            # Never back into the pool holding locks: closed, the server drops them.
            connection.invalidate()
            raise
        finally:
            connection.close()


@contextmanager
def holder(engine: Engine) -> Iterator[Holder]:
    held = Holder(engine)
    try:
        yield held
    finally:
        held.close()
