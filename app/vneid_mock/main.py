"""The mock VNeID as an ASGI app of its own: mounted by the tracker or served alone.

uvicorn --factory app.vneid_mock.main:create_mock_app --port 8100
hocvuso mock-vneid --port 8100
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.core.config import Settings
from app.core.db import make_engine
from app.core.jwks import IssuerList, JwksCache
from app.core.problems import install_problem_handlers
from app.core.signing import KeyRing
from app.core.vneid_wire import make_http_client
from app.vneid_mock.oidc import CitizenSeal
from app.vneid_mock.oidc_router import router as oidc_router
from app.vneid_mock.router import router
from app.vneid_mock.service import CitizenIndex
from app.vneid_mock.tokens import MockTokens


def start_mock(app: FastAPI, *, engine: Engine, tracker_http: httpx.AsyncClient) -> None:
    """Give the mock its storage, keys and the client that fetches the tracker's keys."""
    settings: Settings = app.state.settings
    keys = KeyRing(
        settings.mock_keys_dir, prefix="vneid", create=settings.environment != "production"
    )
    app.state.engine = engine
    app.state.keys = keys
    app.state.tokens = MockTokens(keys, issuer=settings.vneid_issuer)
    app.state.citizen_index = CitizenIndex(settings)
    app.state.citizen_seal = CitizenSeal(settings)
    app.state.tracker_jwks = JwksCache(
        tracker_http,
        "/.well-known/jwks.json",
        min_refresh_seconds=settings.jwks_min_refresh_seconds,
    )
    # The tracker may have issued credentials as earlier addresses: it lists them all.
    app.state.tracker_issuers = IssuerList(
        tracker_http,
        "/.well-known/credential-issuers.json",
        min_refresh_seconds=settings.jwks_min_refresh_seconds,
    )


def create_mock_app(settings: Settings | None = None) -> FastAPI:
    """Build the mock; its own lifespan runs only when it is served alone."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        async with make_http_client(settings, base_url=settings.base_url) as tracker_http:
            start_mock(app, engine=engine, tracker_http=tracker_http)
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(
        title="VNeID (mô phỏng / mock)",
        version="1.0.0",
        description="Bản mô phỏng VNeID cho phát triển và kiểm thử / A stand-in for VNeID.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(oidc_router)
    return app
