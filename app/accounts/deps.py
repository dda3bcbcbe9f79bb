"""Authentication: the bearer token becomes the calling `Actor`."""

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from app.accounts.actor import Actor
from app.accounts.models import Team, User
from app.accounts.service import actor_for
from app.core.db import SessionDep
from app.core.deps import AccessTokensDep
from app.core.errors import NotFound, Unauthorized
from app.core.security import TokenError

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_actor(
    request: Request,
    session: SessionDep,
    tokens: AccessTokensDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The signed-in staff member; 401 for a missing, forged, expired or foreign token."""
    if not token:
        raise Unauthorized(audit_action="auth.missing_token")
    try:
        claims = tokens.verify(token)
    except TokenError:
        raise Unauthorized(audit_action="auth.token_rejected") from None
    subject = str(claims.get("sub", ""))
    if not subject.startswith("user:") or not subject[5:].isdigit():
        raise Unauthorized(audit_action="auth.token_rejected")
    user = session.get(User, int(subject[5:]))
    if user is None or not user.is_active:
        raise Unauthorized(audit_action="auth.token_rejected")
    actor = actor_for(user)
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


def get_team_in_scope(
    team_id: Annotated[int, Path(description="Team id")], session: SessionDep, actor: CurrentActor
) -> Team:
    """The team, if it lies inside the caller's scope."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("what.team")
    actor.require_in_scope(
        team.province_code, team.commune_code, what="what.team", action="team.read", target=team_id
    )
    return team


TeamInScope = Annotated[Team, Depends(get_team_in_scope)]
