"""A learner's browser session: the foundation's cookie, naming a learner instead of a user.

The credential is the pages' own kind (`WEB_SESSION_AUDIENCE`), with the subject
`learner:<id>` and the role `learner`; staff pages, which read `user:<id>`, see no one signed
in, and the API's bearer check refuses it.
"""

import uuid
from datetime import UTC, datetime

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from app.core.security import TokenError
from app.learners.models import Learner
from app.me.deps import LEARNER_ROLE, LEARNER_SUBJECT
from app.web.session import SESSION_COOKIE, session_tokens, set_session_cookie


def start_learner_session(response: Response, request: Request, *, learner_id: uuid.UUID) -> None:
    """Sign the learner in on this browser."""
    token = session_tokens(request).issue(f"{LEARNER_SUBJECT}{learner_id}", {"role": LEARNER_ROLE})
    set_session_cookie(response, request, token)


def session_learner_id(request: Request) -> uuid.UUID | None:
    """The learner the session cookie names, if its credential is valid; renewed when due."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    tokens = session_tokens(request)
    try:
        claims = tokens.verify(token)
    except TokenError:
        return None
    subject = str(claims.get("sub", ""))
    if not subject.startswith(LEARNER_SUBJECT) or claims.get("role") != LEARNER_ROLE:
        return None
    try:
        learner_id = uuid.UUID(subject.removeprefix(LEARNER_SUBJECT))
    except ValueError:
        return None
    remaining = claims["exp"] - datetime.now(UTC).timestamp()
    if remaining < tokens.lifetime.total_seconds() / 2:
        request.state.web_session_renewed = tokens.issue(subject, {"role": LEARNER_ROLE})
    return learner_id


def page_learner(request: Request, session: Session) -> Learner | None:
    """The signed-in learner, read afresh: an erased learner is signed in no more."""
    learner_id = session_learner_id(request)
    if learner_id is None:
        return None
    learner = session.get(Learner, learner_id)
    if learner is None or learner.erased_at is not None:
        return None
    return learner
