"""Authentication: the bearer token becomes the calling `Actor`."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Select, bindparam, select
from sqlmodel import Session, col

from app.accounts.actor import Actor
from app.accounts.models import Role, Team, User
from app.core.bounds import id_path
from app.core.db import SessionDep, in_one_thread, read_columns
from app.core.deps import AccessTokensDep
from app.core.direct import Query, Rows
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.security import TokenError

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

# The signed-in user as an `Actor`'s fields, and whether the account is active.
_ACTOR: Select[int, str, str, str | None, str | None, int | None, bool, int] = select(
    col(User.id).label("user_id"),
    col(User.username),
    col(User.role),
    col(User.province_code),
    col(User.commune_code),
    col(User.team_id),
    col(User.is_active),
    col(User.session_epoch),
).where(col(User.id) == bindparam("user_id"))

# The claim of a staff credential (token or browser session) naming the account's session
# epoch when it was issued: a new password moves the epoch on and ends every older credential.
EPOCH_CLAIM = "sep"


def note_credential_epoch(request: Request, claims: dict[str, Any]) -> None:
    """Keep the epoch a verified credential names, for `actor_from` to compare."""
    request.state.credential_epoch = int(claims.get(EPOCH_CLAIM, 0))


_ACTOR_FIELDS = tuple(str(column.key) for column in _ACTOR.selected_columns)


async def get_caller(
    request: Request,
    tokens: AccessTokensDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> int:
    """The user id a valid token names; 401 for a missing, forged, expired or foreign token,
    403 for a learner's token (signed in, but not staff).

    The account itself is not read yet: see `actor_read` and `actor_from`.
    """
    if not token:
        raise Unauthorized(audit_action="auth.missing_token")
    try:
        claims = tokens.verify(token)
    except TokenError:
        raise Unauthorized(audit_action="auth.token_rejected") from None
    subject = str(claims.get("sub", ""))
    if subject.startswith("learner:"):
        # A learner is signed in, just not allowed here: staff endpoints are not theirs.
        raise Forbidden("auth.learner_on_staff", audit_action="auth.learner_on_staff")
    if not subject.startswith("user:") or not subject[5:].isdigit():
        raise Unauthorized(audit_action="auth.token_rejected")
    note_credential_epoch(request, claims)
    return int(subject[5:])


Caller = Annotated[int, Depends(get_caller)]


def actor_read(user_id: int) -> Query:
    """The read of the caller's account. It is read on every request, so that a disabled
    account or a changed role takes effect at once."""
    return _ACTOR, {"user_id": user_id}


def actor_read_with(*columns: Any) -> Callable[[int, dict[str, Any]], Query]:
    """The read of the caller's account with more values (scalar subqueries) in the same row:
    one statement where two would each cost the server a round of work. Build it once, at
    import; the last `len(columns)` columns of each row are those values."""
    statement = _ACTOR.add_columns(*columns)

    def read(user_id: int, parameters: dict[str, Any]) -> Query:
        return statement, {**parameters, "user_id": user_id}

    return read


def actor_from(request: Request, rows: Rows) -> Actor:
    """The caller as read by `actor_read`; 401 if the account is gone or disabled, or if its
    credential was issued before the account's last new password."""
    fields: dict[str, Any] = dict(zip(_ACTOR_FIELDS, rows[0], strict=True)) if rows else {}
    epoch = fields.pop("session_epoch", None)
    if not fields.pop("is_active", False):
        raise Unauthorized(audit_action="auth.token_rejected")
    if epoch != getattr(request.state, "credential_epoch", 0):
        raise Unauthorized(audit_action="auth.token_rejected")
    actor = Actor(**fields | {"role": Role(fields["role"])})
    request.state.actor = actor
    return actor


def get_actor(request: Request, session: SessionDep, user_id: Caller) -> Actor:
    """The signed-in staff member; 401 for a missing, forged, expired or foreign token."""
    return actor_from(request, read_columns(session, *actor_read(user_id)))


CurrentActor = Annotated[Actor, Depends(get_actor)]

_T = TypeVar("_T")


async def as_caller[T](request: Request, user_id: int, work: Callable[[Session, Actor], T]) -> T:
    """`work` done as the caller, in the request's session and one worker thread, committed.

    For an `async def` route that needs a session only some of the time: `CurrentActor` and
    `SessionDep` would each hand over to a thread for every request.
    """

    def run(session: Session) -> T:
        return work(session, actor_from(request, read_columns(session, *actor_read(user_id))))

    return await in_one_thread(request, run)


def get_team_in_scope(
    team_id: Annotated[int, id_path("Team id")], session: SessionDep, actor: CurrentActor
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


def get_user_in_scope(
    user_id: Annotated[int, id_path("User id")], session: SessionDep, actor: CurrentActor
) -> User:
    """The staff account, if it lies inside the caller's scope."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("what.user")
    actor.require_in_scope(
        user.province_code, user.commune_code, what="what.user", action="user.read", target=user_id
    )
    return user


UserInScope = Annotated[User, Depends(get_user_in_scope)]
