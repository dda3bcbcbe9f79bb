"""The web interface: pages served by the same service (Jinja2 templates, static files).

`install_web(app)` mounts it; `create_app` calls it once.
"""

from fastapi import FastAPI

from app.core.security import AccessTokens
from app.web.errors import install_page_errors
from app.web.middleware import PageMiddleware
from app.web.router import router
from app.web.static import Assets
from app.web.templating import STATIC_DIR


def install_web(app: FastAPI) -> None:
    """Add the pages, their static files, their error pages and their headers to `app`."""
    settings = app.state.settings
    app.state.web_session_tokens = AccessTokens(
        settings, audience=settings.web_session_audience, minutes=settings.web_session_minutes
    )
    install_page_errors(app)
    app.add_middleware(PageMiddleware)
    app.mount("/static", Assets(directory=STATIC_DIR), name="static")
    app.include_router(router)
