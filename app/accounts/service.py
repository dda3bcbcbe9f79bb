"""Accounts: sign-in, staff users inside the creator's scope, and teams."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import throttle
from app.accounts.actor import Actor
from app.accounts.models import ROLE_RANK, Role, Team, User
from app.accounts.schemas import PasswordChange, TeamCreate, UserCreate
from app.audit import service as audit
from app.core import holds
from app.core.config import Settings
from app.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    TooManyRequests,
    Unauthorized,
    field_error,
    invalid_field,
)
from app.core.pagination import paginate
from app.core.security import Passwords
from app.core.text import normalize_name
from app.units.models import Commune, Province


def actor_for(user: User) -> Actor:
    assert user.id is not None
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        province_code=user.province_code,
        commune_code=user.commune_code,
        team_id=user.team_id,
    )


def authenticate(
    session: Session,
    *,
    engine: Engine,
    settings: Settings,
    passwords: Passwords,
    username: str,
    password: str,
    address: str | None,
) -> User:
    """Check a username and password, refusing while too many recent attempts failed.

    Every staff sign-in (the API's and the web page's) goes through here, so both are
    throttled alike: per account, per account and address, and per address.
    """
    keys = throttle.throttle_keys(settings, username, address)
    wait = throttle.reserve_attempt(engine, keys, window_seconds=settings.login_window_seconds)
    if wait:
        raise TooManyRequests(
            "too_many_logins.detail",
            seconds=wait,
            headers={"Retry-After": str(wait)},
            audit_action="auth.login_throttled",
        )
    # The attempt was counted (and committed) above; a refused sign-in answers 401, which
    # rolls the request's transaction back, so only a success touches the counts again.
    user = session.exec(select(User).where(_same_username(username))).first()
    if user is None:
        passwords.spend_verification_time(password)
    if user is None or not user.is_active or not passwords.verify(user.password_hash, password):
        raise Unauthorized("login_failed.detail", audit_action="auth.login_failed")
    throttle.release_attempt(session, keys)
    audit.record(
        session,
        actor_id=f"user:{user.id}",
        actor_role=user.role,
        action="auth.login",
        target_type="user",
        target_id=user.id,
        province_code=user.province_code,
        commune_code=user.commune_code,
    )
    return user


def _same_username(username: str) -> ColumnElement[bool]:
    """User names are ASCII and unique regardless of case."""
    return func.lower(User.username) == username.strip().lower()


def create_user(
    session: Session, *, actor: Actor | None, passwords: Passwords, data: UserCreate
) -> User:
    """Create a staff account with a lower role than the creator's, inside the creator's scope.

    `actor` is None only for accounts made by operators (console, start-up admin).
    """
    data = _commune_from_team(session, actor=actor, data=data)
    province_code, commune_code = _scope_for_role(session, data)
    if actor is not None:
        if ROLE_RANK[data.role] >= actor.rank:
            raise Forbidden("user.role_not_lower", audit_action="user.create")
        if not actor.covers(province_code, commune_code):
            raise Forbidden("user.scope_outside", audit_action="user.create")
    team_id = _check_team(session, data, commune_code)
    if session.exec(select(User.id).where(_same_username(data.username))).first() is not None:
        raise Conflict("user.duplicate")
    user = User(
        username=data.username,
        password_hash=passwords.hash(data.password),
        full_name=normalize_name(data.full_name),
        role=data.role.value,
        province_code=province_code,
        commune_code=commune_code,
        team_id=team_id,
        created_by_id=actor.user_id if actor else None,
    )
    try:
        # Two creations of one name at once (in any case): the index refuses the second.
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Conflict("user.duplicate") from None
    audit.record(
        session,
        actor_id=actor.audit_id if actor else audit.SYSTEM_ACTOR_ID,
        actor_role=actor.role if actor else None,
        action="user.create",
        target_type="user",
        target_id=user.id,
        province_code=province_code,
        commune_code=commune_code,
        detail={"role": data.role.value},
    )
    return user


def _commune_from_team(session: Session, *, actor: Actor | None, data: UserCreate) -> UserCreate:
    """A team member given a team alone belongs to the team's commune.

    A team the caller cannot see is as unknown as one that does not exist.
    """
    if data.role is not Role.team_member or data.commune_code is not None or data.team_id is None:
        return data
    if actor is not None and ROLE_RANK[data.role] >= actor.rank:
        return data  # refused for the role itself, before any team is looked at
    team = session.get(Team, data.team_id)
    if team is None or (
        actor is not None and not actor.covers(team.province_code, team.commune_code)
    ):
        raise invalid_field("team_id", "user.team_required")
    return data.model_copy(update={"commune_code": team.commune_code})


def _scope_for_role(session: Session, data: UserCreate) -> tuple[str | None, str | None]:
    """The province and commune a new account is bound to, checked against its role."""
    role = data.role
    if role is Role.national_admin:
        for field in ("province_code", "commune_code"):
            if getattr(data, field) is not None:
                raise invalid_field(field, "user.scope_extra", name=field)
        return None, None
    if role is Role.province_admin:
        if data.commune_code is not None:
            raise invalid_field("commune_code", "user.scope_extra", name="commune_code")
        if data.province_code is None:
            raise invalid_field("province_code", "user.scope_missing", name="province_code")
        if session.get(Province, data.province_code) is None:
            raise invalid_field("province_code", "province.unknown")
        return data.province_code, None
    if data.commune_code is None:
        raise invalid_field("commune_code", "user.scope_missing", name="commune_code")
    commune = session.get(Commune, data.commune_code)
    if commune is None:
        raise invalid_field("commune_code", "commune.unknown")
    if data.province_code is not None and data.province_code != commune.province_code:
        raise invalid_field("province_code", "commune.unknown")
    return commune.province_code, commune.code


def _check_team(session: Session, data: UserCreate, commune_code: str | None) -> int | None:
    if data.role is not Role.team_member:
        if data.team_id is not None:
            raise invalid_field("team_id", "user.scope_extra", name="team_id")
        return None
    if data.team_id is None:
        raise invalid_field("team_id", "user.team_required")
    team = session.get(Team, data.team_id)
    if team is None or team.commune_code != commune_code:
        raise invalid_field("team_id", "user.team_required")
    return team.id


def list_users(
    session: Session,
    *,
    actor: Actor,
    cursor: str | None,
    limit: int,
    province_code: str | None = None,
    commune_code: str | None = None,
) -> tuple[Sequence[User], str | None]:
    """Accounts inside the caller's scope, optionally only those of one province or commune."""
    statement = select(User).where(actor.scope_clause(User.province_code, User.commune_code))
    if province_code is not None:
        statement = statement.where(User.province_code == province_code)
    if commune_code is not None:
        statement = statement.where(User.commune_code == commune_code)
    return paginate(
        session,
        statement,
        key_column=col(User.id),
        key_of=lambda u: u.id,
        cursor=cursor,
        limit=limit,
        parse_key=int,
    )


def _require_lower(actor: Actor, user: User, *, action: str) -> None:
    """Refuse (403, audited) unless the account's role is lower than the caller's."""
    if ROLE_RANK[Role(user.role)] >= actor.rank:
        raise Forbidden(
            "user.role_not_lower_manage", audit_action=action, audit_target=str(user.id)
        )


def set_active(session: Session, *, actor: Actor, user: User, active: bool) -> User:
    """Deactivate or reactivate an account with a lower role, inside the caller's scope.

    Every request reads the caller's account, so a deactivated account's access tokens and
    browser sessions stop working with the next request, and it cannot sign in.
    """
    action = "user.activate" if active else "user.deactivate"
    _require_lower(actor, user, action=action)
    user.is_active = active
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action=action,
        target_type="user",
        target_id=user.id,
        province_code=user.province_code,
        commune_code=user.commune_code,
    )
    return user


def set_password(
    session: Session, *, actor: Actor, passwords: Passwords, user: User, password: str
) -> User:
    """Give an account with a lower role, inside the caller's scope, a new password."""
    _require_lower(actor, user, action="user.password_reset")
    user.password_hash = passwords.hash(password)
    # Whoever knew the old password may hold a session: every one of them ends.
    user.session_epoch += 1
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="user.password_reset",
        target_type="user",
        target_id=user.id,
        province_code=user.province_code,
        commune_code=user.commune_code,
    )
    return user


def create_team(session: Session, *, actor: Actor, data: TeamCreate) -> Team:
    """Create a commune's community digital-technology team."""
    actor.require(
        Role.national_admin, Role.province_admin, Role.commune_admin, action="team.create"
    )
    commune_code = data.commune_code or actor.commune_code
    if commune_code is None:
        raise invalid_field("commune_code", "user.scope_missing", name="commune_code")
    commune = session.get(Commune, commune_code)
    if commune is None:
        raise invalid_field("commune_code", "commune.unknown")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="team.create"
    )
    duplicate = select(Team.id).where(Team.commune_code == commune.code, Team.name == data.name)
    if session.exec(duplicate).first() is not None:
        raise Conflict("team.duplicate")
    team = Team(province_code=commune.province_code, commune_code=commune.code, name=data.name)
    session.add(team)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="team.create",
        target_type="team",
        target_id=team.id,
        province_code=team.province_code,
        commune_code=team.commune_code,
    )
    return team


def list_teams(
    session: Session,
    *,
    actor: Actor,
    cursor: str | None,
    limit: int,
    commune_code: str | None = None,
) -> tuple[Sequence[Team], str | None]:
    """Teams inside the caller's scope, optionally only those of one commune."""
    statement = select(Team).where(actor.scope_clause(Team.province_code, Team.commune_code))
    if commune_code is not None:
        statement = statement.where(Team.commune_code == commune_code)
    return paginate(
        session,
        statement,
        key_column=col(Team.id),
        key_of=lambda t: t.id,
        cursor=cursor,
        limit=limit,
        parse_key=int,
    )


def team_members(session: Session, *, team: Team) -> Sequence[User]:
    """The accounts that belong to a team."""
    return session.exec(select(User).where(User.team_id == team.id).order_by(col(User.id))).all()


def ensure_admin(
    session: Session, *, passwords: Passwords, username: str, password: str
) -> User | None:
    """Create the first national admin if none exists yet; otherwise change nothing.

    Workers starting at once each call it: on PostgreSQL they take turns under a lock held to
    the end of the transaction, on SQLite the caller's transaction takes the write lock first
    (`write_bind`), so the second finds the first one's admin instead of colliding with it.
    """
    holds.wait_in_transaction(session, holds.key(holds.ADMIN))
    existing = select(User.id).where(User.role == Role.national_admin.value)
    if session.exec(existing).first() is not None:
        return None
    data = UserCreate(
        username=username,
        password=password,
        full_name="Quản trị quốc gia",
        role=Role.national_admin,
    )
    return create_user(session, actor=None, passwords=passwords, data=data)


def change_password(
    session: Session,
    *,
    actor: Actor,
    engine: Engine,
    settings: Settings,
    passwords: Passwords,
    data: PasswordChange,
    address: str | None,
) -> User:
    """Change the caller's own password, given the current one; the old one stops working.

    Refused while sign-ins for the account are throttled; a wrong current password is a
    denial in the audit log.
    """
    # Refused while the account's sign-ins are: a locked-out guesser gets no other door.
    keys = throttle.throttle_keys(settings, actor.username, address)
    wait = throttle.seconds_locked(session, keys, window_seconds=settings.login_window_seconds)
    if wait:
        raise TooManyRequests(
            "too_many_logins.detail",
            seconds=wait,
            headers={"Retry-After": str(wait)},
            audit_action="user.password_change",
        )
    user = session.get(User, actor.user_id)
    assert user is not None
    if not passwords.verify(user.password_hash, data.current_password):
        raise Invalid(
            "validation.detail",
            errors=[field_error("current_password", "password.wrong_current")],
            audit_action="user.password_change",
            audit_target=str(user.id),
        )
    if data.new_password == data.current_password:
        raise invalid_field("new_password", "password.unchanged")
    user.password_hash = passwords.hash(data.new_password)
    # The account's other sessions and tokens end; a browser page renews its own session.
    user.session_epoch += 1
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="user.password_change",
        target_type="user",
        target_id=user.id,
        province_code=user.province_code,
        commune_code=user.commune_code,
    )
    return user
