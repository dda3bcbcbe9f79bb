import io
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.ledger.rebuild import compare
from app.main import create_app
from app.stats.models import Baseline
from app.training.models import Completion
from tests.factories import (
    CITIZEN_COURSES,
    HN_CUA_NAM,
    HN_HOAN_KIEM,
    TQ_COMMUNE,
    Staff,
    learner_payload,
)
from tests.imports.helpers import (
    IMPORTS,
    LEARNER_HEADER_VI,
    csv_bytes,
    imported,
    upload,
    xlsx_bytes,
)

COMPLETION_HEADER = ["Số định danh cá nhân", "Mã khóa học", "Ngày hoàn thành", "Điểm", "Hình thức"]
BASELINE_HEADER = ["Mã xã", "Năm", "Người trưởng thành", "Cán bộ, công chức, viên chức"]
BASELINE_HEADER += ["Học sinh, sinh viên", "Người lao động"]


def register(client: TestClient, staff: Staff, who: str, commune: str, serial: int) -> str:
    body = learner_payload(commune, serial)
    response = client.post("/api/v1/learners", json=body, headers=staff[who])
    assert response.status_code == 201, response.text
    return str(body["citizen_id"])


def completions(session: Session) -> list[Completion]:
    session.expire_all()
    return list(session.exec(select(Completion).order_by(col(Completion.score))))


def test_completions_by_id_number_keep_the_best_result(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    first = register(client, staff, "hk_member", HN_HOAN_KIEM, 1)
    second = register(client, staff, "hk_member", HN_HOAN_KIEM, 2)
    elsewhere = register(client, staff, "cn_member", HN_CUA_NAM, 3)
    rows = [
        [first, "CB-VNEID", "14/03/2026", "85,5", "Lớp học"],
        [second, "CB-VNEID", "2026-03-14", "60", "tại nhà"],
        [first, "NO-SUCH", "14/03/2026", "90", "trực tuyến"],
        [elsewhere, "CB-VNEID", "14/03/2026", "90", "Lớp học"],
        ["001085999999", "CB-VNEID", "14/03/2026", "90", "Lớp học"],
        [second, "CB-VNEID", "14/03/2026", "abc", "bay"],
    ]
    body = imported(client, headers, csv_bytes(COMPLETION_HEADER, rows), kind="completions")
    assert (body["rows_stored"], body["rows_rejected"]) == (2, 4), body["rejected"]
    reasons = {r["row"]: r for r in body["rejected"]}
    assert reasons[4]["problem"]["errors"][0]["type"] == "course.unknown"
    assert reasons[5]["problem"]["status"] == reasons[6]["problem"]["status"] == 404
    assert {e["type"] for e in reasons[7]["problem"]["errors"]} == {"float_parsing", "enum"}
    assert reasons[7]["reason"].startswith("Điểm:")
    assert [c.score for c in completions(session)] == [60, 85.5]

    # Sent again: nothing new; a better result replaces the stored one.
    again = imported(client, headers, csv_bytes(COMPLETION_HEADER, rows[:2]), kind="completions")
    assert (again["rows_stored"], again["rows_duplicate"]) == (0, 2)
    better = [[second, "CB-VNEID", "15/03/2026", 75, "Lớp học"]]
    improved = imported(client, headers, xlsx_bytes(COMPLETION_HEADER, better), kind="completions")
    assert improved["rows_stored"] == 1
    assert [c.score for c in completions(session)] == [75, 85.5]


def test_completions_that_attain_the_standard_count_at_once(
    client: TestClient, staff: Staff, session: Session
) -> None:
    headers = staff["hk_member"]
    people = [register(client, staff, "hk_member", HN_HOAN_KIEM, n) for n in (1, 2, 3)]
    # Two people pass every course of the citizens' standard, the third all but one; one
    # row of the file is refused.
    rows = [[p, c, "14/03/2026", 90, "Lớp học"] for p in people[:2] for c in CITIZEN_COURSES]
    rows += [[people[2], c, "15/03/2026", 90, "Lớp học"] for c in CITIZEN_COURSES[:-1]]
    rows.insert(3, [people[2], CITIZEN_COURSES[-1], "15/03/2026", "abc", "Lớp học"])
    body = imported(client, headers, csv_bytes(COMPLETION_HEADER, rows), kind="completions")
    assert (body["rows_stored"], body["rows_rejected"]) == (20, 1), body["rejected"]
    answer = client.get(
        f"/api/v1/stats/communes/{HN_HOAN_KIEM}", params={"as_of": "2030-01-01"}, headers=headers
    )
    found = {i["indicator"]: i for i in answer.json()["indicators"]}
    assert (found["adults_certified"]["numerator"], found["adults_certified"]["denominator"]) == (
        2,
        3,
    )
    session.expire_all()
    assert compare(session).agree


def test_completions_by_learner_id(client: TestClient, staff: Staff, session: Session) -> None:
    response = client.post(
        "/api/v1/learners", json=learner_payload(HN_HOAN_KIEM, 1), headers=staff["hk_member"]
    )
    learner_id = response.json()["id"]
    header = ["Mã người học", "course_code", "completed_at", "score", "method"]
    rows = [
        [learner_id, "CB-ANTOAN", "2026-03-14T09:00:00+07:00", 88, "online"],
        ["not-a-uuid", "CB-ANTOAN", "14/03/2026", 88, "online"],
    ]
    body = imported(
        client, staff["hk_member"], csv_bytes(header, rows), kind="completions", name="k.csv"
    )
    assert (body["rows_stored"], body["rows_rejected"]) == (1, 1)
    assert str(completions(session)[0].learner_id) == learner_id


def test_baselines_for_communes_in_scope(
    client: TestClient, staff: Staff, session: Session
) -> None:
    rows = [
        [HN_HOAN_KIEM, 2026, "12.000", 150, 3000, 5000],
        [HN_CUA_NAM, 2026, 9000, 120, 2000, 4000],
        [TQ_COMMUNE, 2026, 9000, 120, 2000, 4000],
        ["99999", 2026, 1, 1, 1, 1],
        [HN_HOAN_KIEM, 1900, -5, 1, 1, 1],
    ]
    content = csv_bytes(BASELINE_HEADER, rows)
    body = imported(client, staff["hn_admin"], content, kind="baselines")
    assert (body["rows_stored"], body["rows_rejected"]) == (2, 3), body["rejected"]
    statuses = [r["problem"]["status"] for r in body["rejected"]]
    assert statuses == [404, 422, 422]
    session.expire_all()
    stored = session.get(Baseline, (HN_HOAN_KIEM, 2026))
    assert stored is not None and (stored.adults, stored.officials) == (12000, 150)
    assert stored.province_code == "01"

    again = imported(client, staff["hk_admin"], content, kind="baselines")
    assert (again["rows_stored"], again["rows_duplicate"], again["rows_rejected"]) == (0, 1, 4)
    changed = [[HN_HOAN_KIEM, 2026, 12500, 150, 3000, 5000]]
    updated = imported(
        client, staff["hk_admin"], xlsx_bytes(BASELINE_HEADER, changed), kind="baselines"
    )
    assert updated["rows_stored"] == 1
    session.expire_all()
    stored = session.get(Baseline, (HN_HOAN_KIEM, 2026))
    assert stored is not None and stored.adults == 12500
    # Team members do not set denominators.
    refused = upload(client, staff["hk_member"], content, kind="baselines")
    assert refused.status_code == 403


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_unusable_files_are_refused_at_once(client: TestClient, staff: Staff) -> None:
    headers = staff["hk_member"]
    missing = problem(upload(client, headers, csv_bytes(["Họ và tên"], [["An"]])), 422)
    assert "Số định danh cá nhân" in missing["detail"] and "Ngày sinh" in missing["detail"]
    twice = csv_bytes([*LEARNER_HEADER_VI, "CCCD"], [])
    assert "CCCD" in problem(upload(client, headers, twice), 422)["detail"]
    windows = ";".join(["Ngày sinh", "Họ tên"]).encode("cp1252", errors="replace")
    assert "UTF-8" in problem(upload(client, headers, windows), 422)["detail"]
    problem(upload(client, headers, b""), 422)
    problem(upload(client, headers, b"\r\n\r\n"), 422)
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    problem(upload(client, headers, broken.getvalue(), name="x.xlsx"), 422)
    problem(upload(client, headers, csv_bytes(LEARNER_HEADER_VI, []), kind="people"), 422)
    english = upload(client, {**headers, "Accept-Language": "en"}, csv_bytes(["x"], []))
    assert problem(english, 422)["detail"].startswith("The file lacks required columns")


def test_a_bad_row_late_in_a_file_stops_the_import_but_keeps_what_was_stored(
    client: TestClient, staff: Staff
) -> None:
    lines = [";".join(LEARNER_HEADER_VI)] + [
        ";".join(str(v) for v in learner_row) for learner_row in _rows(300)
    ]
    # Past the first block the reader decodes, so the header reads well and the upload is taken.
    content = ("\r\n".join(lines) + "\r\n").encode() + "Ngày;x".encode("cp1252") + b"\r\n"
    body = imported(client, staff["hk_member"], content)
    assert body["status"] == "failed" and "UTF-8" in body["failure"]
    assert 0 < body["rows_stored"] == body["rows_read"] < 300


def _rows(count: int) -> list[list[Any]]:
    from datetime import date

    from tests.factories import citizen_id_for

    return [
        [
            citizen_id_for(date(1980, 1, 1), "male", serial=n),
            "Phạm Văn Hùng",
            "01/01/1980",
            "Nam",
            HN_HOAN_KIEM,
            "",
            "01/03/2026",
        ]
        for n in range(1, count + 1)
    ]


def test_size_limits(settings: Settings, staff: Staff) -> None:
    small = settings.model_copy(update={"import_max_bytes": 4096, "max_body_bytes": 2048})
    with TestClient(create_app(small)) as client:
        headers = staff["hk_member"]
        content = csv_bytes(LEARNER_HEADER_VI, _rows(80))
        assert len(content) > 4096
        too_big = problem(upload(client, headers, content), 413)
        assert "4096" in too_big["detail"]
        # Uploads may be bigger than other bodies: 3 KB is over the API's limit, not an import's.
        fits = csv_bytes(LEARNER_HEADER_VI, _rows(40))
        assert 2048 < len(fits) < 4000
        assert upload(client, headers, fits).status_code == 202
        problem(
            client.post("/api/v1/sync", content=b"{" + b" " * 3000 + b"}", headers=headers), 413
        )


def test_templates_in_vietnamese(client: TestClient, staff: Staff) -> None:
    csv_template = client.get(f"{IMPORTS}/templates/learners.csv")
    assert csv_template.status_code == 200
    assert (
        csv_template.content.decode("utf-8-sig")
        .splitlines()[0]
        .startswith("Số định danh cá nhân,Họ và tên,Ngày sinh,Giới tính,Mã xã")
    )
    xlsx = client.get(f"{IMPORTS}/templates/completions.xlsx", headers={"Accept-Language": "en"})
    workbook = load_workbook(io.BytesIO(xlsx.content))
    first, guide = workbook.worksheets
    expected = [COMPLETION_HEADER[0], "Mã người học", *COMPLETION_HEADER[1:], "Mã lớp"]
    assert [c.value for c in first[1]] == expected
    assert [c.value for c in guide[1]] == [
        "Column (Vietnamese)",
        "Column (English)",
        "Required?",
        "Example",
    ]
    assert client.get(f"{IMPORTS}/templates/other.csv").status_code == 422
    # A filled-in template is a valid file.
    baseline = client.get(f"{IMPORTS}/templates/baselines.csv").content.decode("utf-8-sig")
    filled = (baseline + f"{HN_HOAN_KIEM},2026,1,1,1,1\r\n").encode()
    assert imported(client, staff["hk_admin"], filled, kind="baselines")["rows_stored"] == 1
