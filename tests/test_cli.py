from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app.accounts.models import User
from app.catalog.models import Course, Program
from app.cli import cli
from app.core.db import make_engine
from app.units.models import Commune, Province


def test_migrate_seed_twice_and_create_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0

    def counts() -> tuple[int, ...]:
        engine = make_engine(url)
        with Session(engine) as session:
            result = tuple(
                session.exec(select(func.count()).select_from(model)).one()
                for model in (Province, Commune, Course, Program)
            )
        engine.dispose()
        return result

    first = runner.invoke(cli, ["seed"])
    assert first.exit_code == 0, first.output
    after_first = counts()
    assert after_first[:2] == (34, 3321)
    second = runner.invoke(cli, ["seed"])
    assert second.exit_code == 0
    assert counts() == after_first

    created = runner.invoke(
        cli,
        [
            "create-user",
            "--username",
            "xa_hoankiem",
            "--role",
            "commune_admin",
            "--full-name",
            "Nguyễn Văn Xã",
            "--commune-code",
            "00070",
        ],
        input="mat-khau-dai-lam\nmat-khau-dai-lam\n",
    )
    assert created.exit_code == 0, created.output
    refused = runner.invoke(
        cli,
        [
            "create-user",
            "--username",
            "xa_sai",
            "--role",
            "commune_admin",
            "--full-name",
            "Sai",
            "--commune-code",
            "99999",
            "--password",
            "mat-khau-dai-lam",
        ],
    )
    assert refused.exit_code == 1
    assert "Unknown commune code" in refused.output
    engine = make_engine(url)
    with Session(engine) as session:
        users = session.exec(select(User)).all()
        assert [(u.username, u.commune_code, u.province_code) for u in users] == [
            ("xa_hoankiem", "00070", "01")
        ]
    engine.dispose()
