"""Dependencies that hand out what `create_app` put on `app.state`."""

from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.core.security import AccessTokens, Passwords, PersonalIds


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def get_access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


def get_personal_ids(request: Request) -> PersonalIds:
    personal_ids: PersonalIds = request.app.state.personal_ids
    return personal_ids


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
AccessTokensDep = Annotated[AccessTokens, Depends(get_access_tokens)]
PersonalIdsDep = Annotated[PersonalIds, Depends(get_personal_ids)]
