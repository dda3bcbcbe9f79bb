"""Request and response shapes for accounts and teams."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.models import Role

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-zA-Z0-9_.\-]{3,64}$")
]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
CommuneCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role
    province_code: str | None
    commune_code: str | None
    team_id: int | None
    scope: dict[str, str | None] = Field(
        description='The part of the country the caller sees: {"level", "code"}'
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "mat-khau-cu-123", "new_password": "mat-khau-moi-456"}
            ]
        },
    )

    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=10, max_length=128)


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "xa.hoankiem.admin",
                    "password": "mot-mat-khau-dai",
                    "full_name": "Nguyễn Thị Lan",
                    "role": "commune_admin",
                    "commune_code": "00070",
                }
            ]
        },
    )

    username: Username
    password: str = Field(min_length=10, max_length=128)
    full_name: Name
    role: Role
    province_code: ProvinceCode | None = None
    commune_code: CommuneCode | None = None
    team_id: int | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    province_code: str | None
    commune_code: str | None
    team_id: int | None
    is_active: bool
    created_at: datetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Tổ công nghệ số cộng đồng thôn Đông", "commune_code": "00070"}]
        },
    )

    name: Name
    commune_code: CommuneCode | None = Field(
        default=None, description="Defaults to the caller's commune"
    )


class TeamMember(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    is_active: bool


class TeamPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    province_code: str
    commune_code: str
    created_at: datetime


class TeamDetail(TeamPublic):
    members: list[TeamMember]
