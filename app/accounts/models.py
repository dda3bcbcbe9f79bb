"""Staff accounts, their roles and scopes, and community digital-technology teams."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column


class Role(StrEnum):
    national_admin = "national_admin"
    province_admin = "province_admin"
    commune_admin = "commune_admin"
    team_member = "team_member"


# Higher number, wider power. A user creates only roles with a lower rank.
ROLE_RANK = {
    Role.team_member: 1,
    Role.commune_admin: 2,
    Role.province_admin: 3,
    Role.national_admin: 4,
}


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("commune_code", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(foreign_key="province.code", max_length=2, index=True)
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class User(SQLModel, table=True):
    # One account per name, whatever its case (names are ASCII, so lower() agrees everywhere).
    __table_args__ = (Index("uq_user_username_lower", func.lower(text("username")), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    full_name: str = Field(max_length=120)
    role: str = Field(max_length=20)
    province_code: str | None = Field(
        default=None, foreign_key="province.code", max_length=2, index=True
    )
    commune_code: str | None = Field(
        default=None, foreign_key="commune.code", max_length=5, index=True
    )
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Named by every token and browser session when issued; moved on by a new password, so
    # every credential issued before stops working (see `app.accounts.deps.actor_from`).
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per key (a hashed username or client address) in the current window."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_started_at: datetime = Field(sa_column=utc_column())
