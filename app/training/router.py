"""Completions, classes and attendance."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from app.accounts.deps import Caller, CurrentActor
from app.core.db import SessionDep, WritesOnRead
from app.core.errors import DomainError
from app.core.i18n import Language, translate, validation_message
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.problems import PROBLEM_BASE, language_of
from app.learners import service as learners
from app.training import completion, service
from app.training.models import Completion, TrainingClass
from app.training.queries import StoredCompletion
from app.training.schemas import (
    AttendanceCreate,
    AttendanceResponse,
    AttendanceResult,
    ClassCreate,
    ClassPublic,
    CompletionCorrection,
    CompletionCreate,
    CompletionPublic,
    CompletionWithdrawal,
)

router = APIRouter(tags=["training"])


def class_in_scope(action: str):  # type: ignore[no-untyped-def]
    def load(
        class_id: Annotated[uuid.UUID, Path(description="Class id")],
        session: SessionDep,
        actor: CurrentActor,
    ) -> TrainingClass:
        return service.get_class_in_scope(session, actor=actor, class_id=class_id, action=action)

    return load


def _public(stored: Completion | StoredCompletion) -> CompletionPublic:
    return CompletionPublic.model_validate(stored)


@router.post(
    "/completions",
    response_model=CompletionPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": CompletionPublic,
            "description": "Đã có kết quả; giữ kết quả tốt nhất / Merged or resent",
        }
    },
)
async def record_completion(data: CompletionCreate, request: Request, caller: Caller) -> Response:
    """Ghi kết quả học / Record a completion (201 new; 200 when it merged into the best one)."""
    recorded = await completion.record(request, caller, data)
    # Serialised here, once: FastAPI would validate the model again against `response_model`.
    return Response(
        _public(recorded.completion).model_dump_json(),
        status_code=status.HTTP_201_CREATED
        if recorded.outcome == "created"
        else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.get(
    "/learners/{learner_id}/completions",
    response_model=Page[CompletionPublic],
    dependencies=[WritesOnRead],
)
def list_completions(
    learner_id: Annotated[uuid.UUID, Path(description="Learner id")],
    session: SessionDep,
    actor: CurrentActor,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[CompletionPublic]:
    """Kết quả học của một người / A learner's completions, one per course."""
    learner = learners.get_in_scope(
        session, actor=actor, learner_id=learner_id, action="completion.read"
    )
    completions, next_cursor = service.list_completions(
        session, actor=actor, learner=learner, cursor=cursor, limit=limit
    )
    return Page(items=[_public(c) for c in completions], next_cursor=next_cursor)


def completion_in_scope(action: str):  # type: ignore[no-untyped-def]
    def load(
        completion_id: Annotated[uuid.UUID, Path(description="Completion id")],
        session: SessionDep,
        actor: CurrentActor,
    ) -> Completion:
        return service.get_completion_in_scope(
            session, actor=actor, completion_id=completion_id, action=action
        )

    return load


@router.patch("/completions/{completion_id}", response_model=CompletionPublic)
def correct_completion(
    data: CompletionCorrection,
    completion: Annotated[Completion, Depends(completion_in_scope("completion.correct"))],
    session: SessionDep,
    actor: CurrentActor,
) -> CompletionPublic:
    """Sửa kết quả nhập sai / Correct a result entered wrongly, with a `reason` (commune admins
    and up, in scope): certificates follow, revoked if no longer earned, issued if now earned."""
    corrected = service.correct_completion(session, actor=actor, completion=completion, data=data)
    return _public(corrected)


@router.post("/completions/{completion_id}/withdraw", response_model=CompletionPublic)
def withdraw_completion(
    data: CompletionWithdrawal,
    completion: Annotated[Completion, Depends(completion_in_scope("completion.withdraw"))],
    session: SessionDep,
    actor: CurrentActor,
) -> CompletionPublic:
    """Rút kết quả nhập sai / Withdraw a result entered wrongly, with a `reason` (commune
    admins and up, in scope); answers the withdrawn result. A certificate it alone earned is
    revoked."""
    withdrawn = service.withdraw_completion(
        session, actor=actor, completion=completion, reason=data.reason
    )
    return _public(withdrawn)


@router.post("/classes", response_model=ClassPublic, status_code=status.HTTP_201_CREATED)
def create_class(data: ClassCreate, session: SessionDep, actor: CurrentActor) -> ClassPublic:
    """Ghi nhận lớp học / Record a class held in a commune for a course."""
    training_class = service.create_class(session, actor=actor, data=data)
    return ClassPublic.model_validate(training_class)


@router.get("/classes/{class_id}", response_model=ClassPublic)
def get_class(
    training_class: Annotated[TrainingClass, Depends(class_in_scope("class.read"))],
) -> ClassPublic:
    """Một lớp học / One class."""
    return ClassPublic.model_validate(training_class)


@router.post("/classes/{class_id}/attendance", response_model=AttendanceResponse)
def record_attendance(
    data: AttendanceCreate,
    request: Request,
    training_class: Annotated[TrainingClass, Depends(class_in_scope("class.attendance"))],
    session: SessionDep,
    actor: CurrentActor,
) -> AttendanceResponse:
    """Điểm danh và điểm / Attendance with scores: a result per record, valid ones stored."""
    outcomes = service.record_attendance(
        session, actor=actor, training_class=training_class, data=data
    )
    lang = language_of(request)
    return AttendanceResponse(
        results=[
            AttendanceResult(
                learner_id=o.learner_id,
                status=o.recorded.outcome if o.recorded else "rejected",
                completion=_public(o.recorded.completion) if o.recorded else None,
                problem=_problem(o.problem, lang, index) if o.problem else None,
            )
            for index, o in enumerate(outcomes)
        ]
    )


def _problem(error: DomainError, lang: Language, index: int) -> dict[str, Any]:
    """A rejected record's problem, shaped like a problem+json body."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.slug,
        "title": translate(error.title_key, lang),
        "status": error.status,
    }
    if error.detail_key:
        body["detail"] = translate(error.detail_key, lang, **error.params)
    if error.errors:
        body["errors"] = [
            {
                # Field errors point into the record: ["body", "records", index, field].
                "loc": ["body", "records", index, *list(e.get("loc", []))[1:]],
                "type": e.get("type"),
                "msg": validation_message(str(e.get("type")), "", lang, **(e.get("params") or {})),
            }
            for e in error.errors
        ]
    return body
