"""Operations endpoints: liveness, readiness (the database and VNeID) and metrics."""

import asyncio
import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User
from app.core.errors import Unauthorized
from app.operations.metrics import scrape_registry

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)


@router.get("/healthz")
def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


def _database_error(request: Request) -> str | None:
    try:
        with request.app.state.engine.connect() as connection:
            # The accounts table: every signed-in request reads it, so a lock that keeps it
            # from being read keeps the service from answering.
            connection.execute(select(col(User.id)).limit(1))
    except Exception as exc:
        return type(exc).__name__
    return None


async def _database_error_in_time(request: Request) -> str | None:
    """The database's error, or `timeout` when it has not answered in time.

    A database that hangs (a lock held on what requests need, a pool with no connection free)
    is as unready as one that is down; the worker thread left waiting ends with its timeouts.
    """
    seconds = request.app.state.settings.readiness_timeout_seconds
    try:
        return await asyncio.wait_for(run_in_threadpool(_database_error, request), seconds)
    except TimeoutError:
        return "timeout"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """503 without the database, or when it does not answer within READINESS_TIMEOUT_SECONDS;
    `degraded` (200) while VNeID cannot be reached.

    Staff keep working without VNeID (deliveries wait in the outbox), so the service stays in
    rotation, but the answer names what fails and where it was looked for.
    """
    settings = request.app.state.settings
    database = await _database_error_in_time(request)
    vneid = await request.app.state.vneid.unreachable()
    request.app.state.vneid_reachable = vneid is None
    body: dict[str, Any] = {
        "status": "not_ready" if database else ("degraded" if vneid else "ready"),
        "database": {"ok": database is None, "error": database},
        "vneid": {"ok": vneid is None, "url": settings.vneid_base_url, "error": vneid},
        "public_base_url": settings.base_url,
    }
    if vneid:
        logger.warning("VNeID cannot be reached at %s: %s", settings.vneid_base_url, vneid)
    return JSONResponse(body, status_code=503 if database else 200)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """The Prometheus text format: requests, pool, delivery backlog, imports, recounts."""
    settings = request.app.state.settings
    if settings.metrics_token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, settings.metrics_token.get_secret_value()):
            raise Unauthorized()
    registry = scrape_registry(
        request.app.state.metrics.registry,
        request.app.state.database_figures,
        multiprocess_dir=settings.prometheus_multiproc_dir,
    )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
