"""Dependencies that hand out what `create_app` put on `app.state`.

They are `async def`: they do no I/O, and FastAPI runs a plain `def` dependency in a worker
thread, a hand-over that costs more than the lookup itself.
"""

from typing import Annotated

from fastapi import Depends, Request

from app.core.addresses import request_client_address
from app.core.config import Settings
from app.core.security import AccessTokens, Passwords, PersonalIds


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


async def get_personal_ids(request: Request) -> PersonalIds:
    personal_ids: PersonalIds = request.app.state.personal_ids
    return personal_ids


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
AccessTokensDep = Annotated[AccessTokens, Depends(get_access_tokens)]
PersonalIdsDep = Annotated[PersonalIds, Depends(get_personal_ids)]


async def get_client_address(request: Request) -> str | None:
    return request_client_address(request)


ClientAddressDep = Annotated[str | None, Depends(get_client_address)]
