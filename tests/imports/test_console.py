from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app.cli import cli
from app.imports.models import ImportJob
from app.learners.models import Learner
from tests.factories import HN_HOAN_KIEM, Staff, citizen_id_for
from tests.imports.helpers import LEARNER_HEADER_VI, csv_bytes


def test_a_file_from_disk_goes_through_the_same_path(
    staff: Staff,
    session: Session,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("IMPORTS_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "4")
    rows = [
        [
            citizen_id_for(date(1990, 1, 1), "male", serial=n),
            "Đỗ Văn Long",
            "01/01/1990",
            "Nam",
            "",
            "",
            "01/03/2026",
        ]
        for n in range(1, 11)
    ]
    rows.append(["1", "Đỗ Văn Sai", "01/01/1990", "Nam", "", "", "01/03/2026"])
    path = tmp_path / "xã-hoàn-kiếm.csv"
    path.write_bytes(csv_bytes(LEARNER_HEADER_VI, rows, delimiter=";", bom=True))
    runner = CliRunner()
    args = ["import", str(path), "--kind", "learners", "--as", "hk_admin"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "stored 10" in result.output and "rejected 1" in result.output
    assert "rejected.csv" in result.output
    session.expire_all()
    learners = session.exec(select(Learner)).all()
    assert len(learners) == 10 and {x.commune_code for x in learners} == {HN_HOAN_KIEM}
    job = session.exec(select(ImportJob)).one()
    assert (job.status, job.rows_stored, job.rows_rejected) == ("done", 10, 1)
    assert not any((tmp_path / "spool").iterdir())  # the spooled copy is gone

    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "already there 10" in again.output
    assert session.exec(select(func.count()).select_from(Learner)).one() == 10

    unknown = runner.invoke(cli, ["import", str(path), "--kind", "learners", "--as", "nobody"])
    assert unknown.exit_code == 1
    outside = runner.invoke(cli, [*args, "--commune", "02269"])
    assert outside.exit_code == 1 and "was not found" in outside.output
