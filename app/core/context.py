"""Per-request context that services and logs may read."""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class Signer(Protocol):
    """Signs a certificate's credential (`certificates.credentials.CredentialSigner`)."""

    def sign(self, certificate: Any, program: Any) -> None: ...


@dataclass(frozen=True)
class WriteContext:
    """What a write needs from the service's configuration: the age from which a learner
    counts as an adult, and the signer of the certificates it issues (None: the delivery
    worker signs them later)."""

    adult_age: int
    signer: Signer | None = None


_WRITE_CONTEXT = "write_context"


def bind_context(session: Session, context: WriteContext) -> Session:
    """Hand the session the context its writes need; returns the session."""
    session.info[_WRITE_CONTEXT] = context
    return session


def write_context(session: Session) -> WriteContext:
    """The context handed to the session by whoever opened it.

    A session opened without one fails here, loudly, rather than count by a default age.
    """
    context = session.info.get(_WRITE_CONTEXT)
    if not isinstance(context, WriteContext):
        raise RuntimeError("session opened without a WriteContext (see bind_context)")
    return context
