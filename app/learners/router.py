"""Learners: register, list and search, read, change, erase."""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.accounts.actor import Actor
from app.accounts.deps import CurrentActor
from app.core.bounds import id_query
from app.core.db import SessionDep, WritesOnRead
from app.core.deps import PersonalIdsDep
from app.core.errors import NotFound
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.learners import service
from app.learners.models import Group, Learner
from app.learners.schemas import LearnerCreate, LearnerLookup, LearnerPublic, LearnerUpdate
from app.vneid.deps import IdentityCheckDep

router = APIRouter(prefix="/learners", tags=["learners"])


def learner_in_scope(action: str) -> Callable[..., Learner]:
    """A dependency loading the path's learner in the caller's scope, audited as `action`."""

    def load(
        learner_id: Annotated[uuid.UUID, Path(description="Learner id")],
        session: SessionDep,
        actor: CurrentActor,
    ) -> Learner:
        return service.get_in_scope(session, actor=actor, learner_id=learner_id, action=action)

    return load


@router.post("", response_model=LearnerPublic, status_code=status.HTTP_201_CREATED)
def register_learner(
    data: LearnerCreate,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    personal_ids: PersonalIdsDep,
    identity: IdentityCheckDep,
) -> LearnerPublic:
    """Đăng ký người học / Register a person (once nationwide; a second time answers 409).

    A retry with the same `client_id` answers 200 with the learner already stored. With
    `VNEID_CHECK_IDENTITY` on, VNeID must first confirm the ID number, name and birth date.
    """
    identity.confirm(
        citizen_id=data.citizen_id, full_name=data.full_name, birth_date=data.birth_date
    )
    learner, created = service.register_learner(
        session, actor=actor, personal_ids=personal_ids, data=data
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.to_public(learner)


@router.get("", response_model=Page[LearnerPublic])
def list_learners(
    session: SessionDep,
    actor: CurrentActor,
    q: Annotated[
        str | None,
        Query(max_length=100, description='Tên, không dấu cũng được: "nguyen van an"'),
    ] = None,
    commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    village_id: Annotated[int | None, id_query("Thôn / Village id")] = None,
    group: Group | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[LearnerPublic]:
    """Danh sách, tìm theo tên / List and search learners in your scope."""
    learners, next_cursor = service.list_learners(
        session,
        actor=actor,
        query=q,
        commune_code=commune_code,
        village_id=village_id,
        group=group,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[service.to_public(x) for x in learners], next_cursor=next_cursor)


@router.post("/lookup", response_model=LearnerPublic)
def lookup_learner(
    data: LearnerLookup, session: SessionDep, actor: CurrentActor, personal_ids: PersonalIdsDep
) -> LearnerPublic:
    """Tra cứu theo số định danh / Find a learner by ID number (sent in the body, never a URL)."""
    learner = service.find_by_citizen_id(
        session, personal_ids=personal_ids, citizen_id=data.citizen_id
    )
    if learner is None or not _visible(actor, learner):
        # Who looked for an ID number they may not see is worth knowing, found or not.
        raise NotFound(
            "what.learner",
            audit_action="learner.lookup",
            audit_target=None if learner is None else str(learner.id),
            audit_commune=None if learner is None else learner.commune_code,
        )
    service.record_read(session, actor=actor, learner=learner)
    return service.to_public(learner)


def _visible(actor: Actor, learner: Learner) -> bool:
    return learner.erased_at is None and actor.covers(learner.province_code, learner.commune_code)


@router.get("/{learner_id}", response_model=LearnerPublic, dependencies=[WritesOnRead])
def get_learner(
    learner: Annotated[Learner, Depends(learner_in_scope("learner.read"))],
    session: SessionDep,
    actor: CurrentActor,
) -> LearnerPublic:
    """Một người học / One learner (the read is audited)."""
    service.record_read(session, actor=actor, learner=learner)
    return service.to_public(learner)


@router.patch("/{learner_id}", response_model=LearnerPublic)
def update_learner(
    data: LearnerUpdate,
    learner: Annotated[Learner, Depends(learner_in_scope("learner.update"))],
    session: SessionDep,
    actor: CurrentActor,
    personal_ids: PersonalIdsDep,
) -> LearnerPublic:
    """Sửa thông tin người học / Change a learner's details."""
    updated = service.update_learner(
        session, actor=actor, personal_ids=personal_ids, learner=learner, data=data
    )
    return service.to_public(updated)


@router.delete("/{learner_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_learner(
    learner: Annotated[Learner, Depends(learner_in_scope("learner.erase"))],
    session: SessionDep,
    actor: CurrentActor,
) -> Response:
    """Xóa dữ liệu cá nhân theo yêu cầu / Erase a person's identifying data on request."""
    service.erase_learner(session, actor=actor, learner=learner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
