"""Dependencies for the tracker's VNeID client and the optional identity check."""

from datetime import date
from typing import Annotated

from anyio import from_thread
from fastapi import Depends, Request

from app.core.config import Settings
from app.core.errors import invalid_field
from app.vneid.client import VneidClient


async def get_vneid(request: Request) -> VneidClient:
    client: VneidClient = request.app.state.vneid
    return client


VneidDep = Annotated[VneidClient, Depends(get_vneid)]


class IdentityCheck:
    """Asks VNeID whether an ID number belongs to that name and birth date, when configured."""

    def __init__(self, client: VneidClient, settings: Settings) -> None:
        self.client = client
        self.enabled = settings.vneid_check_identity

    def confirm(self, *, citizen_id: str, full_name: str, birth_date: date) -> None:
        """Refuse (422) a person VNeID does not confirm; 503 when VNeID cannot answer.

        Called from synchronous routes, which run in a worker thread.
        """
        if not self.enabled:
            return
        match = from_thread.run(
            lambda: self.client.check_identity(
                citizen_id=citizen_id, full_name=full_name, birth_date=birth_date
            )
        )
        if not match:
            raise invalid_field("citizen_id", "vneid.identity_mismatch")


async def get_identity_check(request: Request) -> IdentityCheck:
    return IdentityCheck(request.app.state.vneid, request.app.state.settings)


IdentityCheckDep = Annotated[IdentityCheck, Depends(get_identity_check)]
