"""The tracker's VNeID endpoints: demonstration citizens for the mock VNeID."""

from fastapi import APIRouter, status

from app.accounts.deps import CurrentActor
from app.core.db import SessionDep
from app.core.deps import SettingsDep
from app.vneid import registry
from app.vneid.deps import VneidDep
from app.vneid.schemas import DemoCitizen, DemoCitizenAdded

router = APIRouter()


@router.post(
    "/mock-vneid/citizens",
    response_model=DemoCitizenAdded,
    status_code=status.HTTP_201_CREATED,
    tags=["mock-vneid"],
)
def add_demo_citizen(
    data: DemoCitizen,
    session: SessionDep,
    actor: CurrentActor,
    vneid: VneidDep,
    settings: SettingsDep,
) -> DemoCitizenAdded:
    """Thêm công dân vào VNeID mô phỏng / Add a citizen to the mock VNeID's registry.

    National admins only, and never in production: for demonstrations, so that learners
    registered there can sign in with VNeID and receive their certificates. The mock is
    called over HTTP with a key it shares with the tracker; one already there answers 409.
    """
    return registry.add_demo_citizen(
        session, actor=actor, vneid=vneid, settings=settings, data=data
    )
