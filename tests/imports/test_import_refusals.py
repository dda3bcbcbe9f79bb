"""An import and its rejected rows: never cached, and every refusal audited."""

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from tests.factories import Staff, citizen_id_for
from tests.imports.helpers import IMPORTS, LEARNER_HEADER_VI, csv_bytes, upload, wait_done


def test_an_import_and_its_rejected_rows_are_not_cached_and_refusals_are_audited(
    client: TestClient, staff: Staff, session: Session
) -> None:
    rows = [
        [
            citizen_id_for(date(1990, 1, 1), "male", serial=7),
            "Nguyễn Văn Bảy",
            "01/01/1990",
            "Nam",
            "00070",
            "",
            "01/05/2026",
        ],
        ["123", "Dòng Sai", "không phải ngày", "Nam", "00070", "", "01/05/2026"],
    ]
    answer = upload(client, staff["hk_admin"], csv_bytes(LEARNER_HEADER_VI, rows))
    assert answer.status_code == 202, answer.text
    assert answer.headers["cache-control"] == "no-store"
    job = wait_done(client, staff["hk_admin"], answer.json()["id"])
    assert job["status"] == "done" and job["rows_rejected"] == 1
    mine = client.get(f"{IMPORTS}/{job['id']}", headers=staff["hk_admin"])
    assert mine.headers["cache-control"] == "no-store"
    download = client.get(f"{IMPORTS}/{job['id']}/rejected.csv", headers=staff["hk_admin"])
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"

    # Staff of another commune: the import does not exist for them, and that is recorded.
    paths = {
        "import.read": f"{IMPORTS}/{job['id']}",
        "import.rejected_read": f"{IMPORTS}/{job['id']}/rejected.csv",
    }
    for action, path in paths.items():
        refused = client.get(path, headers=staff["cn_admin"])
        assert refused.status_code == 404, path
        assert refused.headers["cache-control"] == "no-store"
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == "denied")
        ).all()
        assert len(events) == 1, action
        assert events[0].actor_id == f"user:{staff.users['cn_admin'].id}"
        assert events[0].target_id == job["id"]
    xlsx = client.get(f"{IMPORTS}/{job['id']}/rejected.xlsx", headers=staff["cn_admin"])
    assert xlsx.status_code == 404
    denied_downloads = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "import.rejected_read", AuditEvent.outcome == "denied"
        )
    ).all()
    assert len(denied_downloads) == 2


def test_a_row_whose_name_hides_characters_is_refused_alone(
    client: TestClient, staff: Staff
) -> None:
    rows = [
        [
            citizen_id_for(date(1990, 1, 1), "male", serial=n),
            name,
            "01/01/1990",
            "Nam",
            "00070",
            "",
            "01/05/2026",
        ]
        for n, name in ((1, "Nguyễn Văn Một"), (2, "Nguyễn Văn\u200b Hai"), (3, "\u202eNguyễn Ba"))
    ]
    answer = upload(client, staff["hk_admin"], csv_bytes(LEARNER_HEADER_VI, rows))
    assert answer.status_code == 202, answer.text
    job = wait_done(client, staff["hk_admin"], answer.json()["id"])
    assert (job["rows_stored"], job["rows_rejected"]) == (1, 2)
    for rejected in job["rejected"]:
        [problem] = rejected["problem"]["errors"]
        assert problem["loc"][-1] == "full_name"
