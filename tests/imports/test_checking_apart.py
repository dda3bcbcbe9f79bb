"""A large file of learners is read and checked by a process of its own while the service's
process stores it: the same verdicts as the API's, a problem of the file reported as from a
thread, and the checking process gone as soon as the service's process is."""

import logging
import os
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.core.i18n import translate
from tests.factories import HN_HOAN_KIEM, Staff, citizen_id_for
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes, upload, wait_done
from tests.imports.test_crash_recovery import Server, _import_status, _learners
from tests.imports.test_crash_recovery import server as server
from tests.imports.test_learner_imports import row
from tests.imports.test_learner_imports import test_an_import_and_the_api_agree as agree

APART = "rows checked by process"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Every file of learners, however small, is checked by a process of its own.
    return settings.model_copy(update={"import_process_min_rows": 1})


def test_checked_apart_an_import_and_the_api_agree(
    client: TestClient, staff: Staff, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.imports.ahead"):
        agree(client, staff, session)
    assert APART in caplog.text


def test_a_file_that_turns_unreadable_midway_fails_as_it_does_in_a_thread(
    client: TestClient, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    # Past the first block the upload's check of the header decodes.
    good = csv_bytes(LEARNER_HEADER_VI, [row(n) for n in range(1, 201)])
    content = good + b"\xff\xfe not UTF-8\r\n"
    with caplog.at_level(logging.INFO, logger="app.imports.ahead"):
        response = upload(client, staff["hk_admin"], content)
        assert response.status_code == 202, response.text
        body = wait_done(client, staff["hk_admin"], response.json()["id"])
    assert APART in caplog.text
    assert body["status"] == "failed"
    assert body["failure"] == translate("import.encoding", "vi")
    # The chunks (of 7) read before the unreadable block are stored; none after it.
    assert 0 < body["rows_stored"] < 200 and body["rows_stored"] % 7 == 0


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


IMPORT_ROWS = 6_000


def test_the_checking_process_ends_with_a_killed_server_and_the_import_resumes(
    server: Server,
    database_url: str,
) -> None:
    server.stop()
    server.env["IMPORT_PROCESS_MIN_ROWS"] = "1000"
    server.start()
    headers = server.login("hk_admin")
    rows = [
        [
            citizen_id_for(date(1980, 1, 1), "female", serial=n),
            "Vũ Thị Lan",
            "01/01/1980",
            "Nữ",
            HN_HOAN_KIEM,
            "Người dân",
            "01/03/2026",
        ]
        for n in range(1, IMPORT_ROWS + 1)
    ]
    content = csv_bytes(LEARNER_HEADER_VI, rows, delimiter=";")
    response = httpx.post(
        f"{server.url}/api/v1/imports",
        data={"kind": "learners"},
        files={"file": ("lon.csv", content)},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]
    assert server.process is not None
    for _ in range(3000):
        status = _import_status(server, headers, import_id)
        checking = _children(server.process.pid)
        if status["rows_stored"] > 0 and checking:
            break
        time.sleep(0.01)
    assert 0 < status["rows_stored"] < IMPORT_ROWS, "the import should be caught mid-way"
    assert checking, "a process of its own checks the rows"
    server.kill()
    for _ in range(100):
        if not any(_alive(pid) for pid in checking):
            break
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in checking), "the checking process outlived its server"

    server.start()
    for _ in range(1200):
        status = _import_status(server, headers, import_id)
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "done"
    assert (status["rows_read"], status["rows_stored"]) == (IMPORT_ROWS, IMPORT_ROWS)
    assert _learners(database_url) == IMPORT_ROWS
    assert os.path.exists(f"/proc/{server.process.pid}")
