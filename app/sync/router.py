"""Phone sync: `POST /sync`."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.accounts.deps import CurrentActor
from app.core.db import SessionDep
from app.core.deps import PersonalIdsDep, SettingsDep
from app.core.problems import language_of
from app.sync import idempotency, problems, service
from app.sync.schemas import SyncRequest, SyncResponse, SyncResult
from app.vneid.deps import IdentityCheckDep

router = APIRouter(tags=["sync"])

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "Khóa chống gửi trùng, do điện thoại tạo (nên là UUID); giữ 24 giờ / "
            "A key the phone makes for this request (a UUID is best); kept for 24 hours"
        ),
    ),
]


@router.post(
    "/sync",
    response_model=SyncResponse,
    responses={
        409: {"description": "Idempotency-Key đang xử lý / still in progress (Retry-After)"},
        422: {"description": "Quá 1.000 bản ghi, hoặc khóa đã dùng cho yêu cầu khác"},
    },
)
def sync(
    data: SyncRequest,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    personal_ids: PersonalIdsDep,
    settings: SettingsDep,
    identity: IdentityCheckDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> SyncResponse | JSONResponse:
    """Đồng bộ từ điện thoại / Store a phone's outbox: a result per record (≤ 1,000).

    Each record is checked on its own (validation, scope, duplicates); a bad one never sinks
    the others. Everything is committed before the answer. A retry with the same
    `Idempotency-Key` answers the first answer; without one, the records' `client_id`s still
    keep a retry from storing anything twice. With `VNEID_CHECK_IDENTITY` on, each new person
    must be confirmed by VNeID, as at the desk; while VNeID is down those records are rejected
    with a 503 problem and can be sent again.
    """
    if idempotency_key is not None:
        policy = idempotency.Policy(
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            lock=timedelta(seconds=settings.idempotency_lock_seconds),
        )
        request_fingerprint = idempotency.fingerprint(
            request.method, request.url.path, data.model_dump(mode="json")
        )
        stored = idempotency.claim(
            session,
            actor=actor,
            key=idempotency_key,
            request_fingerprint=request_fingerprint,
            policy=policy,
        )
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status)
    try:
        outcomes = service.sync(
            session,
            actor=actor,
            personal_ids=personal_ids,
            data=data,
            confirm_identity=identity.confirm if identity.enabled else None,
        )
        lang = language_of(request)
        response = SyncResponse(
            results=[
                SyncResult(
                    client_id=o.client_id,
                    kind=o.kind,
                    status=o.status,
                    id=o.id,
                    problem=problems.render(o.problem, lang, ["body", f"{o.kind}s", o.index])
                    if o.problem
                    else None,
                )
                for o in outcomes
            ]
        )
        if idempotency_key is not None:
            idempotency.complete(
                session,
                actor=actor,
                key=idempotency_key,
                status=200,
                body=response.model_dump(mode="json"),
            )
    except BaseException:
        if idempotency_key is not None:
            idempotency.release(session, actor=actor, key=idempotency_key)
        raise
    return response
