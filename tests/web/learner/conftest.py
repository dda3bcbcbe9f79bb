"""The learner's browser tests: the live server with VNeID's browser-facing address on it.

The mounted mock VNeID is the browser's identity provider here, so its issuer (and the
addresses in its discovery document) must be the live server's own, not the default port.
"""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from app.core.config import Settings
from app.main import create_app
from tests.web.conftest import LiveServer, _free_socket


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live_settings = settings.model_copy(
        update={
            "public_base_url": url,
            "vneid_base_url": f"{url}/mock-vneid",
            "vneid_issuer": f"{url}/mock-vneid",
        }
    )
    app = create_app(live_settings)
    app.state.http_transport = httpx.ASGITransport(app=app)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=url, app=app, settings=live_settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
