"""Imports spool their files in this test's own directory, and take a short lease."""

from pathlib import Path

import pytest

from app.core.config import Settings
from tests.conftest import TEST_SECRETS


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
        password_hash_parallelism=1,
        admin_username=None,
        admin_password=None,
        imports_dir=tmp_path / "imports",
        import_chunk_rows=7,
        import_poll_seconds=0.2,
        **TEST_SECRETS,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
