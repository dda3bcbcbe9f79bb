"""Sign-in, the caller, staff accounts and teams."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.accounts import service
from app.accounts.deps import EPOCH_CLAIM, CurrentActor, TeamInScope, UserInScope
from app.accounts.models import Role, User
from app.accounts.schemas import (
    Me,
    PasswordChange,
    PasswordSet,
    TeamCreate,
    TeamDetail,
    TeamMember,
    TeamPublic,
    Token,
    UserCreate,
    UserPublic,
)
from app.core.addresses import request_client_address
from app.core.db import SessionDep
from app.core.deps import AccessTokensDep, ClientAddressDep, PasswordsDep, SettingsDep
from app.core.pagination import CursorQuery, LimitQuery, Page

router = APIRouter()


@router.post("/auth/token", response_model=Token, tags=["auth"])
def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    tokens: AccessTokensDep,
    address: ClientAddressDep,
) -> Token:
    """Đăng nhập cán bộ / Staff sign-in: OAuth2 password form, answers a bearer token."""
    user = service.authenticate(
        session,
        engine=request.app.state.engine,
        settings=settings,
        passwords=passwords,
        username=form.username,
        password=form.password,
        address=address,
    )
    token = tokens.issue(f"user:{user.id}", {"role": user.role, EPOCH_CLAIM: user.session_epoch})
    return Token(access_token=token, expires_in=int(tokens.lifetime.total_seconds()))


@router.get("/auth/me", response_model=Me, tags=["auth"])
def who_am_i(actor: CurrentActor, session: SessionDep) -> Me:
    """Người dùng hiện tại / The caller: role and scope."""
    user = session.get(User, actor.user_id)
    assert user is not None and user.id is not None
    if actor.role is Role.national_admin:
        scope = {"level": "national", "code": None}
    elif actor.role is Role.province_admin:
        scope = {"level": "province", "code": actor.province_code}
    else:
        scope = {"level": "commune", "code": actor.commune_code}
    return Me(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=actor.role,
        province_code=user.province_code,
        commune_code=user.commune_code,
        team_id=user.team_id,
        scope=scope,
    )


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def change_password(
    data: PasswordChange,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> None:
    """Đổi mật khẩu của chính mình / Change your own password (the current one is required)."""
    service.change_password(
        session,
        actor=actor,
        engine=request.app.state.engine,
        settings=settings,
        passwords=passwords,
        data=data,
        address=request_client_address(request),
    )


@router.post(
    "/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED, tags=["users"]
)
def create_user(
    data: UserCreate, session: SessionDep, actor: CurrentActor, passwords: PasswordsDep
) -> UserPublic:
    """Tạo tài khoản / Create a staff account with a lower role, inside your own scope."""
    user = service.create_user(session, actor=actor, passwords=passwords, data=data)
    return UserPublic.model_validate(user)


@router.get("/users", response_model=Page[UserPublic], tags=["users"])
def list_users(
    session: SessionDep, actor: CurrentActor, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[UserPublic]:
    """Danh sách tài khoản / Staff accounts inside your scope."""
    users, next_cursor = service.list_users(session, actor=actor, cursor=cursor, limit=limit)
    return Page(items=[UserPublic.model_validate(u) for u in users], next_cursor=next_cursor)


@router.post("/users/{user_id}/deactivate", response_model=UserPublic, tags=["users"])
def deactivate_user(user: UserInScope, session: SessionDep, actor: CurrentActor) -> UserPublic:
    """Khóa tài khoản / Deactivate a lower account in your scope: its tokens stop at once."""
    return UserPublic.model_validate(
        service.set_active(session, actor=actor, user=user, active=False)
    )


@router.post("/users/{user_id}/activate", response_model=UserPublic, tags=["users"])
def activate_user(user: UserInScope, session: SessionDep, actor: CurrentActor) -> UserPublic:
    """Mở lại tài khoản / Reactivate a lower account in your scope."""
    return UserPublic.model_validate(
        service.set_active(session, actor=actor, user=user, active=True)
    )


@router.post("/users/{user_id}/password", response_model=UserPublic, tags=["users"])
def reset_password(
    data: PasswordSet,
    user: UserInScope,
    session: SessionDep,
    actor: CurrentActor,
    passwords: PasswordsDep,
) -> UserPublic:
    """Đặt lại mật khẩu / Set a new password for a lower account in your scope."""
    updated = service.set_password(
        session, actor=actor, passwords=passwords, user=user, password=data.password
    )
    return UserPublic.model_validate(updated)


@router.post(
    "/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED, tags=["teams"]
)
def create_team(data: TeamCreate, session: SessionDep, actor: CurrentActor) -> TeamPublic:
    """Tạo tổ công nghệ số cộng đồng / Create a commune's community digital-technology team."""
    return TeamPublic.model_validate(service.create_team(session, actor=actor, data=data))


@router.get("/teams", response_model=Page[TeamPublic], tags=["teams"])
def list_teams(
    session: SessionDep, actor: CurrentActor, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[TeamPublic]:
    """Danh sách tổ / Teams inside your scope."""
    teams, next_cursor = service.list_teams(session, actor=actor, cursor=cursor, limit=limit)
    return Page(items=[TeamPublic.model_validate(t) for t in teams], next_cursor=next_cursor)


@router.get("/teams/{team_id}", response_model=TeamDetail, tags=["teams"])
def get_team(team: TeamInScope, session: SessionDep) -> TeamDetail:
    """Một tổ và các thành viên / One team with its members."""
    members = service.team_members(session, team=team)
    return TeamDetail(
        **TeamPublic.model_validate(team).model_dump(),
        members=[TeamMember.model_validate(m) for m in members],
    )
