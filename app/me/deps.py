"""Authentication of learners: a learner access token becomes the signed-in `Learner`."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.accounts.deps import oauth2_scheme
from app.core.db import SessionDep
from app.core.deps import AccessTokensDep
from app.core.errors import Forbidden, Unauthorized
from app.core.security import TokenError
from app.learners.models import Learner

LEARNER_SUBJECT = "learner:"
LEARNER_ROLE = "learner"


@dataclass(frozen=True)
class LearnerCaller:
    """The signed-in learner as a refusal's audit event names it."""

    audit_id: str
    role: str = LEARNER_ROLE


def get_signed_in_learner(
    request: Request,
    session: SessionDep,
    tokens: AccessTokensDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Learner:
    """The learner the token was issued to; a staff token answers 403, anything else 401."""
    if not token:
        raise Unauthorized("vneid.learner_only", audit_action="auth.missing_token")
    try:
        claims = tokens.verify(token)
    except TokenError:
        raise Unauthorized("vneid.learner_only", audit_action="auth.token_rejected") from None
    subject = str(claims.get("sub", ""))
    if subject.startswith("user:"):
        # Staff are signed in, just not as a learner.
        raise Forbidden("vneid.learner_only", audit_action="auth.staff_on_learner")
    if not subject.startswith(LEARNER_SUBJECT) or claims.get("role") != LEARNER_ROLE:
        raise Unauthorized("vneid.learner_only", audit_action="auth.token_rejected")
    try:
        learner_id = uuid.UUID(subject.removeprefix(LEARNER_SUBJECT))
    except ValueError:
        raise Unauthorized("vneid.learner_only", audit_action="auth.token_rejected") from None
    learner = session.get(Learner, learner_id)
    if learner is None or learner.erased_at is not None:
        raise Unauthorized("vneid.learner_only", audit_action="auth.token_rejected")
    request.state.learner_id = f"learner:{learner.id}"
    request.state.actor = LearnerCaller(audit_id=f"{LEARNER_SUBJECT}{learner.id}")
    return learner


CurrentLearner = Annotated[Learner, Depends(get_signed_in_learner)]
