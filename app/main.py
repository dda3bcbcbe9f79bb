"""The application factory; `app.main:app` is what uvicorn serves."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.router import router as accounts_router
from app.audit.denials import record_request_denial
from app.catalog.router import router as catalog_router
from app.certificates import issuers
from app.certificates.credentials import CredentialSigner
from app.certificates.delivery import Outbox, run_worker
from app.certificates.router import public_router as certificates_public_router
from app.certificates.router import router as certificates_router
from app.core.config import Settings
from app.core.db import make_engine, session_options, write_bind
from app.core.direct import DirectRunner
from app.core.logs import mask_long_numbers_in_logs
from app.core.middleware import (
    BodySizeLimitMiddleware,
    NoStoreMiddleware,
    NulGuardMiddleware,
    RequestIdMiddleware,
)
from app.core.observability import ObservabilityMiddleware, RequestMetrics, configure_logging
from app.core.openapi import install_openapi
from app.core.problems import (
    ErrorShieldMiddleware,
    install_problem_handlers,
    nul_refused_response,
    too_large_response,
)
from app.core.security import AccessTokens, Passwords, PersonalIds
from app.core.signing import KeyRing
from app.core.supervision import exit_with_master
from app.core.vneid_wire import make_http_client
from app.imports.router import router as imports_router
from app.imports.worker import ImportWorker, collect_less_often
from app.learners.router import router as learners_router
from app.ledger.recount import run_worker as run_recounts
from app.me.router import router as me_router
from app.operations.metrics import DatabaseFigures
from app.operations.router import router as operations_router
from app.stats.router import router as stats_router
from app.stats.unit_stats import AnswerCache
from app.sync.router import router as sync_router
from app.training.router import router as training_router
from app.units import official
from app.units.router import router as units_router
from app.vneid.client import VneidClient
from app.vneid.router import router as vneid_router
from app.vneid_mock.main import create_mock_app, start_mock
from app.web import install_web

API_PREFIX = "/api/v1"
logger = logging.getLogger("app")

DESCRIPTION = """
Hệ thống theo dõi phong trào **Bình dân học vụ số**: người học theo xã/phường, khóa học,
kết quả hoàn thành và chứng nhận kỹ năng số.

Digital-skills tracker for the "Bình dân học vụ số" movement: learners by commune, courses,
completions and certificates.

* Xác thực / Auth: `POST /api/v1/auth/token` (OAuth2 password form) → Bearer JWT.
* Lỗi / Errors: RFC 9457 `application/problem+json`, tiếng Việt hoặc tiếng Anh theo
  `Accept-Language`.
* Danh sách / Lists: `{"items": [...], "next_cursor": ...}` with `cursor` and `limit` (≤ 500).
"""


def log_addresses(settings: Settings) -> None:
    """Say where certificates come from and go, so a wrong address shows at start-up."""
    logger.info(
        "certificates are issued as %s; their QR codes open %s/certificates/<id>",
        settings.base_url,
        settings.base_url,
    )
    logger.info(
        "certificates are delivered to VNeID at %s (%s); VNeID sign-in tokens must come from %s",
        settings.vneid_base_url,
        "the mock mounted at /mock-vneid" if settings.mounts_mock_vneid else "external",
        settings.vneid_issuer,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; the engine and clients are made when it starts, not here."""
    settings = settings or Settings()

    mock = create_mock_app(settings) if settings.mounts_mock_vneid else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Production refuses to start without a configured signing key; elsewhere one is made.
        keys = KeyRing(
            settings.keys_dir, prefix="hocvuso", create=settings.environment != "production"
        )
        configure_logging(settings.log_level)
        app.state.credential_signer = signer = CredentialSigner(settings, keys)
        timeouts = {
            "lock_timeout_ms": settings.database_lock_timeout_ms,
            "statement_timeout_ms": settings.database_statement_timeout_ms,
        }
        engine = make_engine(settings.database_url, **timeouts)
        app.state.engine = engine
        # What start-up opens is closed again if a later step fails: a worker whose start-up
        # failed then exits, instead of lingering with a pool open, answering uvicorn's pings.
        async with contextlib.AsyncExitStack() as opened:
            opened.callback(engine.dispose)
            with engine.connect() as connection:
                official.require_loaded_version(connection)
            # Credentials issued as an earlier public address keep verifying as that address.
            signer.trust(issuers.remember(engine, settings.base_url))
            log_addresses(settings)
            app.state.direct = direct = DirectRunner(engine, options=session_options(**timeouts))
            await direct.open()
            opened.push_async_callback(direct.close)
            app.state.database_figures = figures = DatabaseFigures(engine, direct)
            metrics.registry.register(figures)
            # Imports are stored in the background; unfinished ones (a crash) are resumed.
            import_worker = ImportWorker(
                engine, settings, app.state.personal_ids, app.state.credential_signer
            )
            app.state.import_worker = import_worker
            if settings.admin_username and settings.admin_password:
                with Session(write_bind(engine)) as session:
                    created = accounts.ensure_admin(
                        session,
                        passwords=app.state.passwords,
                        username=settings.admin_username,
                        password=settings.admin_password.get_secret_value(),
                    )
                    session.commit()
                if created is not None:
                    logger.info("created the national admin account from ADMIN_USERNAME")
            # Tests hand an in-process transport over; otherwise the clients use the network.
            transport = getattr(app.state, "http_transport", None)
            vneid_http = await opened.enter_async_context(
                make_http_client(settings, base_url=settings.vneid_base_url, transport=transport)
            )
            own = await opened.enter_async_context(
                make_http_client(settings, base_url=settings.base_url, transport=transport)
            )
            app.state.vneid = VneidClient(vneid_http, settings)
            if mock is not None:
                start_mock(mock, engine=engine, tracker_http=own)
            app.state.outbox = Outbox(
                engine=engine,
                vneid=app.state.vneid,
                signer=app.state.credential_signer,
                personal_ids=app.state.personal_ids,
                settings=settings,
            )
            workers = []
            if settings.delivery_worker:
                workers.append(asyncio.create_task(run_worker(app.state.outbox)))
            if settings.recount_worker:
                workers.append(asyncio.create_task(run_recounts(engine, settings)))
            collect_less_often()
            import_worker.start()
            # A worker of `hocvuso serve --workers N` ends when its master does.
            exit_with_master()
            try:
                yield
            finally:
                import_worker.stop()
                for worker in workers:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker

    app = FastAPI(
        title="Bình dân học vụ số — API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by the pages from self-hosted assets (app/web/docs.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.passwords = Passwords(settings)
    app.state.access_tokens = AccessTokens(settings)
    app.state.answers = AnswerCache(settings.stats_answers_kept)
    app.state.personal_ids = PersonalIds(settings)
    app.state.record_denial = record_request_denial
    app.state.metrics = metrics = RequestMetrics.create(CollectorRegistry())

    install_problem_handlers(app)
    install_openapi(app)
    app.add_middleware(NulGuardMiddleware, on_refused=nul_refused_response)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        on_too_large=too_large_response,
        path_limits={API_PREFIX + "/imports": settings.import_max_bytes},
    )
    app.add_middleware(ErrorShieldMiddleware)
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=metrics,
        sign_in_routes={API_PREFIX + "/auth/token": "staff", API_PREFIX + "/auth/vneid": "learner"},
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(NoStoreMiddleware, prefixes=(API_PREFIX + "/", "/mock-vneid/"))
    mask_long_numbers_in_logs()

    # Routes are matched in order, one pattern after another: the busiest come first.
    for router in (
        stats_router,
        training_router,
        learners_router,
        sync_router,
        accounts_router,
        units_router,
        catalog_router,
        certificates_router,
        me_router,
        imports_router,
        vneid_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(certificates_public_router)
    if mock is not None:
        app.mount("/mock-vneid", mock)
    install_web(app)

    app.include_router(operations_router)

    return app


app = create_app()
