"""/metrics moves with what the service does; logs are one JSON object a line, no ID numbers."""

import io
import json
import logging
import re

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlmodel import Session

from app.core.config import Settings
from app.imports.models import ImportJob
from app.ledger.models import RulesRecount
from app.main import create_app
from tests.certificates.helpers import certify, deliver, enrol_citizen, later, register
from tests.factories import Staff


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


LEARNER_ROUTE = "/api/v1/learners/{learner_id}"


def test_requests_and_sign_in_refusals_are_counted_by_route_template(
    client: TestClient, staff: Staff
) -> None:
    learner = register(client, staff, 1)
    before = scrape(client)
    for _ in range(2):
        shown = client.get(f"/api/v1/learners/{learner['id']}", headers=staff["hk_member"])
        assert shown.status_code == 200
    missing = client.get(
        "/api/v1/learners/00000000-0000-0000-0000-000000000000", headers=staff["hk_member"]
    )
    assert missing.status_code == 404
    refused = client.post(
        "/api/v1/auth/token", data={"username": "hk_member", "password": "sai-mat-khau"}
    )
    assert refused.status_code == 401
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "GET", "route": LEARNER_ROUTE, "status": "200"}
    assert moved("hocvuso_http_requests_total", **ok) == 2
    assert moved("hocvuso_http_requests_total", **ok | {"status": "404"}) == 1
    timed = {"method": "GET", "route": LEARNER_ROUTE}
    assert moved("hocvuso_http_request_duration_seconds_count", **timed) == 3
    assert moved("hocvuso_http_request_duration_seconds_bucket", **timed, le="+Inf") == 3
    assert moved("hocvuso_login_refusals_total", kind="staff", status="401") == 1
    # The path itself (with the learner's id) never becomes a label.
    assert not any(learner["id"] in str(labels) for _, labels in after)
    pool = (("pool", "requests"), ("state", "checked_out"))
    assert ("hocvuso_db_pool_connections", pool) in after
    pools = {
        dict(labels)["pool"] for name, labels in after if name == "hocvuso_db_pool_connections"
    }
    on_loop = client.app.state.direct.on_loop  # type: ignore[attr-defined]
    assert pools == ({"requests", "direct"} if on_loop else {"requests"})


def test_delivery_backlog_imports_and_recounts_show_what_waits(
    client: TestClient, staff: Staff, session: Session
) -> None:
    enrol_citizen(client, session, 1)
    certify(client, staff, register(client, staff, 1)["id"])
    certify(client, staff, register(client, staff, 2, full_name="Trần Thị Bình")["id"])
    waiting = scrape(client)
    assert value(waiting, "hocvuso_delivery_backlog", state="pending") == 2
    assert value(waiting, "hocvuso_delivery_oldest_age_seconds") > 0
    assert deliver(client, later(1)) == {"delivered": 1, "rejected": 1}
    drained = scrape(client)
    assert value(drained, "hocvuso_delivery_backlog", state="pending") == 0
    assert value(drained, "hocvuso_delivery_oldest_age_seconds") == 0
    assert value(drained, "hocvuso_delivery_rejected") == 1

    # An import whose file no worker here sees stays queued; a recount not finished shows.
    session.add(
        ImportJob(
            kind="learners",
            file_name="xa.csv",
            file_format="csv",
            file_bytes=10,
            file_sha256="0" * 64,
            columns=[],
            created_by_id=staff.users["hk_admin"].id,
        )
    )
    session.add(
        RulesRecount(program_code="CITIZEN", before={}, programs=[], groups=[], recounted=7)
    )
    session.commit()
    queued = scrape(client)
    assert value(queued, "hocvuso_imports", state="queued") == 1
    assert value(queued, "hocvuso_imports", state="running") == 0
    assert value(queued, "hocvuso_recounts_pending") == 1
    assert value(queued, "hocvuso_recount_learners_recounted") == 7


def test_metrics_can_require_a_token(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("bi-mat-cua-prometheus")})
    app = create_app(guarded)
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": "Bearer bi-mat-cua-prometheus"})
        assert allowed.status_code == 200
        assert "hocvuso_http_requests_total" in allowed.text


def test_each_request_logs_one_json_line_without_id_numbers(
    client: TestClient, staff: Staff
) -> None:
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "hocvuso-json"]
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    handler.setStream(written)
    register(client, staff, 1)
    citizen_id = "001085000001"
    found = client.post(
        "/api/v1/learners/lookup",
        json={"citizen_id": citizen_id},
        headers=staff["hk_member"] | {"X-Request-ID": "tra-cuu-1"},
    )
    assert found.status_code == 200, found.text
    logging.getLogger("app").warning("a careless message about %s", citizen_id)
    lines = [line for line in written.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    (lookup,) = [r for r in records if r.get("request_id") == "tra-cuu-1"]
    assert lookup["route"] == "/api/v1/learners/lookup" and lookup["status"] == 200
    assert lookup["user_id"] == staff.users["hk_member"].id and lookup["duration_ms"] >= 0
    assert lookup["method"] == "POST" and lookup["level"] == "INFO"
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", "\n".join(lines))
    assert any("a careless message about ************" in r["message"] for r in records)
