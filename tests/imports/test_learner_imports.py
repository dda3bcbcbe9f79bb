import csv
import io
import sys
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.accounts.service import actor_for
from app.core import holds
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.imports import service, worker
from app.imports.context import SWITCH_SECONDS
from app.imports.models import ImportJob, ImportKind
from app.learners.models import Learner
from app.ledger import totals
from app.ledger.models import StatTotal
from tests.factories import (
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    TQ_COMMUNE,
    Staff,
    citizen_id_for,
    learner_payload,
)
from tests.imports.helpers import (
    IMPORTS,
    LEARNER_HEADER_EN,
    LEARNER_HEADER_VI,
    csv_bytes,
    imported,
    upload,
    wait_done,
    xlsx_bytes,
)

ADULT = date(1985, 4, 12)


def row(serial: int, **overrides: Any) -> list[Any]:
    """A learner row in the order of LEARNER_HEADER_VI."""
    birth = overrides.pop("birth_date", ADULT)
    sex = overrides.get("sex", "Nam")
    id_birth = birth if isinstance(birth, date) else ADULT
    values = {
        "citizen_id": citizen_id_for(id_birth, "female" if sex == "Nữ" else "male", serial=serial),
        "full_name": "Trần Thị   Hoa",
        "birth_date": birth.strftime("%d/%m/%Y") if isinstance(birth, date) else birth,
        "sex": sex,
        "commune_code": HN_HOAN_KIEM,
        "groups": "Người dân",
        "consent_given_at": "01/03/2026",
    }
    values.update(overrides)
    return [values[name] for name in LEARNER_HEADER_EN]


def learners(session: Session) -> list[Learner]:
    session.expire_all()
    return list(session.exec(select(Learner).order_by(col(Learner.citizen_id_last4))))


def stored_totals(session: Session) -> Counter[Any]:
    session.expire_all()
    result: Counter[Any] = Counter()
    for t in session.exec(select(StatTotal)).all():
        if t.count:
            result[(t.level, t.unit_code, t.metric, t.effective_on)] += t.count
    return result


def expected_totals(session: Session) -> Counter[Any]:
    bind_context(session, WriteContext(18))
    expected: Counter[Any] = Counter()
    for learner in learners(session):
        expected.update(totals.current_rows(session, learner))
    return Counter({k: v for k, v in expected.items() if v})


def test_a_commune_file_in_vietnamese_with_bom_and_semicolons(
    client: TestClient, staff: Staff, session: Session
) -> None:
    rows = [row(n) for n in range(1, 16)]
    rows.append(row(16, full_name='=HYPERLINK("http://x")', birth_date="31/02/1990"))
    rows.append(row(17, citizen_id="12345"))
    rows.append(row(18, commune_code=HN_CUA_NAM))
    rows.append(row(1))  # the same person again, in the same file
    rows.append(["", "", "", "", "", "", ""])  # a blank line is skipped
    content = csv_bytes(LEARNER_HEADER_VI, rows, delimiter=";", bom=True)
    body = imported(client, staff["hk_member"], content)
    assert body["status"] == "done" and body["kind"] == "learners"
    assert (body["rows_read"], body["rows_stored"]) == (19, 15)
    assert (body["rows_duplicate"], body["rows_rejected"]) == (1, 3)
    assert body["ignored_columns"] == [] and body["failure"] is None
    rejected = {r["row"]: r for r in body["rejected"]}
    assert sorted(rejected) == [17, 18, 19]
    assert rejected[17]["reason"].startswith("Ngày sinh:")
    # The file's own date format is named, not only the API's.
    assert "dd/mm/yyyy" in rejected[17]["reason"]
    assert rejected[17]["problem"]["errors"][0]["type"] == "import.bad_date"
    assert rejected[18]["problem"]["errors"][0]["type"] == "citizen_id.shape"
    assert rejected[19]["problem"]["status"] == 404
    # JSON answers never carry a full ID number: masked like the API's learners.
    assert rejected[19]["cells"]["Số định danh cá nhân"] == "********" + rows[17][0][-4:]
    for values in rows[:18]:
        assert values[0] not in str(body)

    stored = learners(session)
    assert len(stored) == 15
    assert {x.full_name for x in stored} == {"Trần Thị Hoa"}
    assert {x.commune_code for x in stored} == {HN_HOAN_KIEM}
    assert all(x.is_citizen and not x.is_official for x in stored)
    assert stored_totals(session) == expected_totals(session)


def test_english_headers_and_an_excel_workbook(
    client: TestClient, staff: Staff, session: Session
) -> None:
    content = csv_bytes(LEARNER_HEADER_EN, [row(1), row(2, sex="Nữ")])
    body = imported(client, staff["hk_member"], content, name="list.csv")
    assert body["rows_stored"] == 2, body

    # Real date cells, and an ID number Excel took for a number (leading zeros lost).
    number_id = citizen_id_for(ADULT, "male", serial=3)
    sheet_rows = [
        [
            int(number_id),
            "Lê Văn Cường",
            datetime(1985, 4, 12),
            "nam",
            HN_HOAN_KIEM,
            None,
            datetime(2026, 3, 1, 9, 0),
        ],
        [
            citizen_id_for(date(2010, 5, 1), "female", serial=4),
            "Lê Thị Dung",
            date(2010, 5, 1),
            "NỮ",
            int(HN_HOAN_KIEM),
            "học sinh",
            date(2026, 3, 1),
        ],
    ]
    header = [*LEARNER_HEADER_VI[:5], "nhom", "NGAY DONG Y", "Ghi chú"]
    body = imported(
        client, staff["hk_member"], xlsx_bytes(header, sheet_rows), name="danh-sach.xlsx"
    )
    assert body["file_format"] == "xlsx"
    assert body["rows_stored"] == 2, body["rejected"]
    assert body["ignored_columns"] == ["Ghi chú"]
    pupil = next(x for x in learners(session) if x.full_name == "Lê Thị Dung")
    assert pupil.birth_date == date(2010, 5, 1) and pupil.is_pupil and not pupil.is_citizen
    assert stored_totals(session) == expected_totals(session)


def test_an_import_and_the_api_agree(client: TestClient, staff: Staff, session: Session) -> None:
    """Every kind of row gets the same verdict through the API and through an import."""
    headers = staff["hk_member"]
    for commune, who, serial in ((HN_HOAN_KIEM, "hk_member", 500), (TQ_COMMUNE, "tq_member", 501)):
        registered = client.post(
            "/api/v1/learners", json=learner_payload(commune, serial), headers=staff[who]
        )
        assert registered.status_code == 201
    future = date.today() + timedelta(days=5)
    cases: list[tuple[dict[str, Any], int | str]] = [
        ({}, 201),
        ({"sex": "female"}, 422),  # digit 4 says male
        ({"birth_date": future, "citizen_id_year": future}, 422),
        ({"commune_code": HN_CUA_NAM}, 404),
        ({"commune_code": "99999"}, 422),
        ({"groups": ["citizen", "official"]}, 422),  # an official needs level and agency
        ({"groups": ["official"], "official_level": "commune", "agency": "UBND xã"}, 201),
        ({"phone": "12"}, 422),
        ({"serial": 500}, "duplicate"),  # registered in the caller's commune
        ({"serial": 501}, 409),  # registered elsewhere
    ]
    api_people: list[dict[str, Any]] = []
    file_rows: list[dict[str, Any]] = []
    for index, (change, _) in enumerate(cases):
        for channel, serial in (("api", 100 + index), ("file", 200 + index)):
            overrides = dict(change)
            serial = overrides.pop("serial", serial)
            birth = overrides.pop("birth_date", ADULT)
            id_year = overrides.pop("citizen_id_year", birth)
            commune = overrides.pop("commune_code", HN_HOAN_KIEM)
            body = learner_payload(commune, serial, birth_date=ADULT, **overrides)
            body["birth_date"] = birth.isoformat()
            body["citizen_id"] = citizen_id_for(id_year, "male", serial=serial)
            (api_people if channel == "api" else file_rows).append(body)

    verdicts = []
    for body in api_people:
        response = client.post("/api/v1/learners", json=body, headers=headers)
        status = response.status_code
        if status == 409 and "existing_id" in response.json():
            status = "duplicate"  # type: ignore[assignment]
        verdicts.append(status)
    assert verdicts == [expected for _, expected in cases]

    header = [
        "citizen_id",
        "full_name",
        "birth_date",
        "sex",
        "commune_code",
        "groups",
        "official_level",
        "agency",
        "phone",
        "consent_given_at",
        "consent_purpose",
    ]
    lines = [
        [
            b["citizen_id"],
            b["full_name"],
            b["birth_date"],
            b["sex"],
            b["commune_code"],
            ";".join(b["groups"]),
            b.get("official_level", ""),
            b.get("agency", ""),
            b.get("phone", ""),
            b["consent"]["given_at"],
            b["consent"]["purpose"],
        ]
        for b in file_rows
    ]
    body = imported(client, headers, csv_bytes(header, lines))
    by_row: dict[int, Any] = {r["row"]: r["problem"]["status"] for r in body["rejected"]}
    import_verdicts: list[Any] = []
    for index in range(len(cases)):
        status = by_row.get(index + 2)
        import_verdicts.append(status if status else "stored")
    assert [("stored" if v == 201 else v) for v in verdicts[:8]] == import_verdicts[:8]
    assert import_verdicts[9] == 409
    assert body["rows_duplicate"] == 1 and import_verdicts[8] == "stored"  # counted, not stored

    # What is stored is the same, field by field, whichever way it came.
    def comparable(learner: Learner) -> dict[str, Any]:
        return learner.model_dump(
            exclude={
                "id",
                "citizen_id_hash",
                "citizen_id_enc",
                "citizen_id_last4",
                "created_at",
                "updated_at",
                "client_id",
            }
        )

    def serial(learner: Learner) -> int:
        return int(learner.citizen_id_last4 or 0)

    via_api = [comparable(x) for x in learners(session) if 100 <= serial(x) < 200]
    via_file = [comparable(x) for x in learners(session) if 200 <= serial(x) < 300]
    assert len(via_api) == len(via_file) == 2
    assert via_api == via_file
    assert stored_totals(session) == expected_totals(session)


def test_sending_the_same_file_again_stores_nothing_twice(
    client: TestClient, staff: Staff, session: Session
) -> None:
    content = csv_bytes(LEARNER_HEADER_VI, [row(n) for n in range(1, 21)])
    first = imported(client, staff["hk_member"], content)
    assert first["rows_stored"] == 20
    before = stored_totals(session)
    again = imported(client, staff["hk_admin"], content)
    assert (again["rows_stored"], again["rows_duplicate"], again["rows_rejected"]) == (0, 20, 0)
    assert len(learners(session)) == 20
    assert stored_totals(session) == before


def test_rejected_rows_download_is_safe_and_can_be_sent_again(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    formula = '=HYPERLINK("http://evil.example","bấm")'
    rows = [row(1), row(2, full_name=formula, birth_date="31/02/1990"), row(3, sex="?")]
    body = imported(client, headers, csv_bytes(LEARNER_HEADER_VI, rows), name="thôn 1.csv")
    assert body["rows_rejected"] == 2

    download = client.get(body["rejected_csv"], headers=headers)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''th%C3%B4n%201-rejected.csv" in download.headers["content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0] == [*LEARNER_HEADER_VI, "Dòng", "Lý do"]
    assert [line[-2] for line in table[1:]] == ["3", "4"]
    assert table[1][1] == "'" + formula  # neutralized: shown as text, never run
    assert table[1][0] == rows[1][0]  # the ID number as the uploader sent it
    english = client.get(body["rejected_csv"], headers={**headers, "Accept-Language": "en"})
    assert english.content.decode("utf-8-sig").splitlines()[0].endswith("Row,Reason")

    workbook = load_workbook(io.BytesIO(client.get(body["rejected_xlsx"], headers=headers).content))
    sheet = workbook.worksheets[0]
    assert sheet.cell(2, 2).value == "'" + formula and sheet.cell(2, 2).data_type == "s"
    assert sheet.cell(1, 9).value == "Lý do"

    # The commune corrects the rows in the file it got back and sends it again.
    fixed = [line[:7] for line in table[1:]]
    fixed[0][2] = "28/02/1990"
    fixed[0][0] = citizen_id_for(date(1990, 2, 28), "male", serial=2)
    fixed[1][3] = "Nam"
    again = imported(client, headers, csv_bytes(table[0], fixed))
    assert again["rows_stored"] == 2 and again["ignored_columns"] == ["Dòng", "Lý do"]
    names = {x.full_name for x in learners(session)}
    assert formula in names  # stored as typed; every export neutralizes it


def test_imports_are_seen_only_in_scope(client: TestClient, staff: Staff) -> None:
    body = imported(client, staff["hk_member"], csv_bytes(LEARNER_HEADER_VI, [row(1)]))
    path = f"{IMPORTS}/{body['id']}"
    for who in ("hk_member", "hk_admin", "hn_admin", "national"):
        assert client.get(path, headers=staff[who]).status_code == 200
    for who in ("cn_member", "cn_admin", "tq_admin"):
        for url in (path, path + "/rejected.csv", path + "/rejected.xlsx"):
            response = client.get(url, headers=staff[who])
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(path).status_code == 401


def test_a_province_admin_names_a_commune_for_rows_without_one(
    client: TestClient, staff: Staff, session: Session
) -> None:
    header = [h for h in LEARNER_HEADER_VI if h != "Mã xã"]
    lines = [[v for i, v in enumerate(row(n)) if i != 4] for n in (1, 2)]
    no_commune = imported(client, staff["hn_admin"], csv_bytes(header, lines))
    assert no_commune["rows_rejected"] == 2
    assert no_commune["rejected"][0]["problem"]["errors"][0]["loc"] == ["body", "commune_code"]
    body = imported(client, staff["hn_admin"], csv_bytes(header, lines), commune_code=HN_CUA_NAM)
    assert body["rows_stored"] == 2
    assert {x.commune_code for x in learners(session)} == {HN_CUA_NAM}
    outside = upload(client, staff["hn_admin"], csv_bytes(header, lines), commune_code=TQ_COMMUNE)
    assert outside.status_code == 404
    unknown = upload(client, staff["hn_admin"], csv_bytes(header, lines), commune_code="99999")
    assert unknown.status_code == 422


def test_text_with_backslashes_and_tabs_is_stored_as_the_api_stores_it(
    client: TestClient, staff: Staff, session: Session
) -> None:
    """Characters that PostgreSQL's COPY format gives a meaning (\\, tab, newline) arrive as
    typed, whichever way the person is registered."""
    headers = staff["hk_member"]
    tricky = {
        "groups": ["official"],
        "official_level": "commune",
        "agency": "Phòng C:\\Văn hoá\\N\tThông tin",
    }
    body = learner_payload(HN_HOAN_KIEM, 300, **tricky)
    body["consent"]["purpose"] = "Theo dõi\\nkết quả\r\nhọc \\. kỹ năng số"
    assert client.post("/api/v1/learners", json=body, headers=headers).status_code == 201
    header = ["citizen_id", "full_name", "birth_date", "sex", "commune_code", "groups"]
    header += ["official_level", "agency", "consent_given_at", "consent_purpose"]
    line = [
        citizen_id_for(ADULT, "male", serial=301),
        body["full_name"],
        body["birth_date"],
        body["sex"],
        HN_HOAN_KIEM,
        "official",
        "commune",
        tricky["agency"],
        body["consent"]["given_at"],
        body["consent"]["purpose"],
    ]
    result = imported(client, headers, csv_bytes(header, [line]))
    assert (result["rows_stored"], result["rejected"]) == (1, [])
    by_api, by_file = learners(session)
    assert by_file.agency == by_api.agency == tricky["agency"]
    assert by_file.consent_purpose == by_api.consent_purpose
    assert "\\n" in (by_file.consent_purpose or "")
    assert (by_file.full_name, by_file.name_folded) == (by_api.full_name, by_api.name_folded)
    assert uuid.UUID(str(by_file.id)).version == 4


def test_a_stopping_worker_gives_the_import_back_and_the_next_one_finishes_it(
    client: TestClient,
    staff: Staff,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service that is shutting down stops between chunks, keeps what it committed and
    releases the import at once; the next worker resumes after the last committed chunk."""
    owner = worker.worker_name("test")
    content = csv_bytes(LEARNER_HEADER_EN, [row(n) for n in range(1, 31)])  # 5 chunks of 7
    engine = client.app.state.engine  # type: ignore[attr-defined]
    # This worker holds the import's lock as the service's own do (on PostgreSQL), and the
    # service's background worker looks for no work until the release has been seen: a
    # released import is free to take at once, which is what the end of the test shows.
    with monkeypatch.context() as looking:
        looking.setattr(worker, "claim_next", lambda *args, **kwargs: None)
        with holds.holder(engine) as holder:
            with Session(engine, expire_on_commit=False) as writer:
                job = service.create_import(
                    writer,
                    actor=actor_for(staff.users["hk_admin"]),
                    settings=settings,
                    kind=ImportKind.learners,
                    upload=io.BytesIO(content),
                    file_name="danh-sach.csv",
                    default_commune_code=None,
                    lease_owner=owner,
                )
                assert holder.take(holds.key(holds.IMPORT, job.id))
                writer.commit()
            asked: list[int] = []

            def stop_after_two_chunks() -> bool:
                asked.append(1)
                return len(asked) > 2

            stopped = worker.run_import(
                engine,
                settings=settings,
                personal_ids=client.app.state.personal_ids,  # type: ignore[attr-defined]
                import_id=job.id,
                owner=owner,
                should_stop=stop_after_two_chunks,
            )
            session.expire_all()
            released = session.get(ImportJob, job.id)
            assert released is not None
            assert (stopped.rows_stored, stopped.last_row) == (14, 15)
            assert (released.status, released.lease_owner, released.rows_stored) == (
                "running",
                None,
                14,
            )
            assert len(learners(session)) == 14

    client.app.state.import_worker.wake()  # type: ignore[attr-defined]
    done = wait_done(client, staff["hk_admin"], str(job.id))
    assert (done["status"], done["rows_read"], done["rows_stored"]) == ("done", 30, 30)
    stored = learners(session)
    assert len(stored) == len({x.citizen_id_hash for x in stored}) == 30
    assert stored_totals(session) == expected_totals(session)


def test_the_interpreter_lock_changes_hands_quickly_only_while_an_import_runs(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    """Checking rows is pure Python: while an import runs, the thread storing chunks and the
    requests the service answers get the interpreter lock every half millisecond, not every
    5 ms; the process is as it was once the import ends."""
    owner = worker.worker_name("test")
    content = csv_bytes(LEARNER_HEADER_EN, [row(n) for n in range(1, 16)])
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with holds.holder(engine) as holder:
        with Session(engine, expire_on_commit=False) as writer:
            job = service.create_import(
                writer,
                actor=actor_for(staff.users["hk_admin"]),
                settings=settings,
                kind=ImportKind.learners,
                upload=io.BytesIO(content),
                file_name="danh-sach.csv",
                default_commune_code=None,
                lease_owner=owner,
            )
            assert holder.take(holds.key(holds.IMPORT, job.id))
            writer.commit()
        before = sys.getswitchinterval()
        during: list[float] = []

        def note_the_interval() -> bool:
            during.append(sys.getswitchinterval())
            return False

        done = worker.run_import(
            engine,
            settings=settings,
            personal_ids=client.app.state.personal_ids,  # type: ignore[attr-defined]
            import_id=job.id,
            owner=owner,
            should_stop=note_the_interval,
        )
    assert done.rows_stored == 15
    assert len(during) == 3 and set(during) == {SWITCH_SECONDS}  # chunks of 7
    assert sys.getswitchinterval() == before != SWITCH_SECONDS


def test_a_chunk_that_fails_on_the_databases_side_is_stored_again_once(
    client: TestClient, staff: Staff, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock (or a dropped connection) undoes the chunk's transaction: the import stores
    the chunk again instead of stopping halfway, and counts every row once."""
    steps = worker.STEPS[ImportKind.learners]
    failures = []

    def store_then_fail_once(*args: Any) -> Any:
        outcome = steps.store(*args)
        if not failures:
            failures.append(outcome.stored)
            raise OperationalError("INSERT …", {}, psycopg.errors.DeadlockDetected())
        return outcome

    monkeypatch.setitem(
        worker.STEPS, ImportKind.learners, worker.Steps(steps.prepare, store_then_fail_once)
    )
    monkeypatch.setattr(worker.time, "sleep", lambda _: None)
    rows = [row(n) for n in range(1, 13)]
    rows.append(row(13, birth_date="31/02/1990"))  # refused: no such day
    body = imported(client, staff["hk_member"], csv_bytes(LEARNER_HEADER_VI, rows))
    assert failures and failures[0] > 0  # the first attempt had stored rows before it failed
    assert body["status"] == "done"
    assert (body["rows_stored"], body["rows_duplicate"], body["rows_rejected"]) == (12, 0, 1)
    assert len(learners(session)) == 12
    assert stored_totals(session) == expected_totals(session)
