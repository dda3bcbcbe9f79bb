"""An import whose worker died is taken over at once on PostgreSQL, not after its lease."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import holds
from app.core.config import Settings
from app.imports import worker
from tests.factories import Staff
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes, upload, wait_done
from tests.imports.test_learner_imports import row

LEASE = timedelta(minutes=10)


@pytest.fixture
def settings(settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no locks tied to a connection: its imports wait for the lease")
    # The service's own worker stays idle: this test plays two workers by hand.
    monkeypatch.setattr(worker.ImportWorker, "start", lambda self: None)
    return settings


def test_an_import_whose_worker_died_is_taken_over_at_once(
    client: TestClient, staff: Staff, session: Session, settings: Settings
) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    headers = staff["hk_member"]
    content = csv_bytes(LEARNER_HEADER_VI, [row(n) for n in range(1, 21)])
    queued = upload(client, headers, content)
    assert queued.status_code == 202, queued.text
    import_id = queued.json()["id"]

    first, second = holds.Holder(engine), holds.Holder(engine)
    try:
        claim = {"lease": LEASE, "imports_dir": settings.imports_dir}
        assert str(worker.claim_next(engine, owner="first", holder=first, **claim)) == import_id
        # While the first worker lives, the second finds nothing to take.
        assert worker.claim_next(engine, owner="second", holder=second, **claim) is None
        # The first worker's process dies, and its connection with it; its lease runs on.
        first.close()
        taken = worker.claim_next(engine, owner="second", holder=second, **claim)
        assert str(taken) == import_id
        assert taken is not None
        worker.run_import(
            engine,
            settings=settings,
            personal_ids=client.app.state.personal_ids,  # type: ignore[attr-defined]
            import_id=taken,
            owner="second",
        )
    finally:
        first.close()
        second.close()
    body = wait_done(client, headers, import_id)
    assert (body["status"], body["rows_read"], body["rows_stored"]) == ("done", 20, 20)
