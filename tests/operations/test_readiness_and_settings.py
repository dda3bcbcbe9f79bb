"""Settings that cannot fail in silence: derived addresses, start-up log, VNeID readiness."""

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.cli import listening_url
from app.core.config import Settings
from app.main import create_app


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_unset_addresses_follow_the_port_the_service_listens_on() -> None:
    served = _settings(serve_url=listening_url("0.0.0.0", 8201))  # noqa: S104
    assert served.base_url == "http://127.0.0.1:8201"
    assert served.vneid_base_url == "http://127.0.0.1:8201/mock-vneid"
    assert served.vneid_issuer == "http://127.0.0.1:8201/mock-vneid"
    # What is set stays as set; a VNeID that is not the mock is never guessed.
    chosen = _settings(
        serve_url="http://127.0.0.1:8201",
        public_base_url="https://hocvuso.example.vn",
        vneid_base_url="https://vneid.example.vn",
        vneid_issuer="https://id.vneid.example.vn",
    )
    assert chosen.base_url == "https://hocvuso.example.vn"
    assert chosen.vneid_base_url == "https://vneid.example.vn"
    assert chosen.vneid_issuer == "https://id.vneid.example.vn"
    unmounted = _settings(serve_url="http://127.0.0.1:8201", mock_vneid_mounted=False)
    assert unmounted.base_url == "http://127.0.0.1:8201"
    assert unmounted.vneid_base_url == "http://127.0.0.1:8000/mock-vneid"


def test_start_up_says_where_certificates_go_and_what_qr_codes_open(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    app.state.http_transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.INFO, logger="app"), TestClient(app):
        pass
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "QR codes open http://127.0.0.1:8000/certificates/<id>" in said
    assert "delivered to VNeID at http://127.0.0.1:8000/mock-vneid" in said


def test_readiness_names_a_vneid_that_cannot_be_reached(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on this port: what a wrong VNEID_BASE_URL looks like.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = f"http://127.0.0.1:{port}/mock-vneid"
    app = create_app(
        settings.model_copy(update={"vneid_base_url": nowhere, "vneid_connect_retries": 0})
    )
    with TestClient(app) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "degraded" and body["database"]["ok"] is True
    assert body["vneid"] == {"ok": False, "url": nowhere, "error": "ConnectError"}
    assert any("VNeID cannot be reached" in r.getMessage() for r in caplog.records)


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """`hocvuso serve --port N` with nothing else set but the database and the keys.

    The command does the same on both databases, so one real server, on SQLite, is enough.
    """
    shutil.copyfile(sqlite_template, tmp_path / "served.db")
    database_url = f"sqlite:///{tmp_path / 'served.db'}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PUBLIC_BASE_URL", "VNEID_", "SERVE_URL", "MOCK_VNEID"))
    }
    environment |= {
        "DATABASE_URL": database_url,
        "KEYS_DIR": str(tmp_path / "keys"),
        "IMPORTS_DIR": str(tmp_path / "imports"),
        "ENVIRONMENT": "development",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "hocvuso"),
            "serve",
            "--port",
            str(port),
            "--no-prepare",
        ],
        cwd=tmp_path,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):  # bounded: start-up takes a few seconds
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_serve_on_another_port_derives_every_address(served: str, tmp_path: Path) -> None:
    ready = httpx.get(served + "/readyz", timeout=10).json()
    assert ready["status"] == "ready"
    assert ready["vneid"]["url"] == served + "/mock-vneid"
    assert ready["public_base_url"] == served
    issuers = httpx.get(served + "/.well-known/credential-issuers.json", timeout=10).json()
    assert issuers["current"] == served
    # A demo citizen's sign-in token from the mounted mock is checked and understood (not
    # 503): the mock signs as the issuer the service expects, at the port it listens on.
    signed_in = httpx.post(
        served + "/mock-vneid/oauth/token",
        data={"username": "001085000101", "password": "123456"},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    exchanged = httpx.post(
        served + "/api/v1/auth/vneid", json={"id_token": signed_in.json()["id_token"]}, timeout=10
    )
    assert exchanged.status_code == 403, exchanged.text  # known to VNeID, not yet a learner
    log = (tmp_path / "serve.log").read_text()
    assert f"QR codes open {served}/certificates/<id>" in log
