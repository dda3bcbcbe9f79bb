"""Dependencies: the credential signer, and a certificate loaded in the caller's scope."""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from app.accounts.deps import CurrentActor
from app.certificates import service
from app.certificates.credentials import CredentialSigner
from app.certificates.models import Certificate
from app.core.db import SessionDep


async def get_signer(request: Request) -> CredentialSigner:
    signer: CredentialSigner = request.app.state.credential_signer
    return signer


SignerDep = Annotated[CredentialSigner, Depends(get_signer)]


def certificate_in_scope(action: str) -> Callable[..., Certificate]:
    """A dependency loading the path's certificate in the caller's scope, audited as `action`."""

    def load(
        certificate_id: Annotated[uuid.UUID, Path(description="Certificate id")],
        session: SessionDep,
        actor: CurrentActor,
    ) -> Certificate:
        return service.get_in_scope(
            session, actor=actor, certificate_id=certificate_id, action=action
        )

    return load
