"""No published secret signs anything: outside production the secrets are random and kept."""

import stat
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jose import jwt
from pydantic import ValidationError

from app.core.config import Settings
from app.main import create_app
from tests.factories import Staff, learner_payload, login

OLD_DEFAULT_SECRET_KEY = "dev-secret-key-change-me-0123456789abcdef"
OLD_DEFAULT_PII_KEY = "dev-pii-key-change-me-0123456789abcdef0123"


def _restarted(settings: Settings) -> Settings:
    """The same configuration read afresh, as a restarted process would (no secrets given)."""
    given = settings.model_dump(exclude={"secret_key", "pii_key"})
    return Settings(**given, _env_file=None)


def test_a_token_forged_with_the_old_default_secret_is_refused(
    client: TestClient, staff: Staff
) -> None:
    national_id = staff.users["national"].id
    now = int(time.time())
    claims = {
        "iss": "hocvuso",
        "aud": "hocvuso-api",
        "sub": f"user:{national_id}",
        "role": "national_admin",
        "iat": now,
        "exp": now + 600,
    }
    forged = jwt.encode(claims, OLD_DEFAULT_SECRET_KEY, "HS256", headers={"typ": "at+jwt"})
    refused = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/auth/me", headers=staff["national"]).status_code == 200


def test_secrets_are_made_on_first_start_and_kept_beside_the_signing_keys(
    settings: Settings, staff: Staff, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.delenv("PII_KEY")
    first = _restarted(settings)
    assert first.secret_key != settings.secret_key
    with TestClient(create_app(first)) as before_restart:
        headers = login(before_restart, "hk_admin")
        created = before_restart.post(
            "/api/v1/learners", json=learner_payload("00070"), headers=headers
        )
        assert created.status_code == 201, created.text
    citizen_id = learner_payload("00070")["citizen_id"]
    with TestClient(create_app(_restarted(settings))) as restarted:
        # The access token and the ID numbers' index survive a restart.
        assert restarted.get("/api/v1/auth/me", headers=headers).status_code == 200
        found = restarted.post(
            "/api/v1/learners/lookup", json={"citizen_id": citizen_id}, headers=headers
        )
        assert found.status_code == 200, found.text
        assert found.json()["id"] == created.json()["id"]
    for name in ("secret_key", "pii_key"):
        kept = settings.keys_dir / name
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert kept.read_text().strip() == getattr(first, name).get_secret_value()
    assert first.secret_key != first.pii_key
    # Another installation makes its own.
    elsewhere = Settings(_env_file=None, keys_dir=tmp_path / "elsewhere")  # type: ignore[call-arg]
    assert elsewhere.secret_key != first.secret_key and elsewhere.pii_key != first.pii_key


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_published_secrets_are_refused_in_every_environment(
    environment: str, tmp_path: Path
) -> None:
    for field, value in (("secret_key", OLD_DEFAULT_SECRET_KEY), ("pii_key", OLD_DEFAULT_PII_KEY)):
        with pytest.raises(ValidationError, match="published secret"):
            Settings(  # type: ignore[call-arg]
                _env_file=None,
                environment=environment,
                keys_dir=tmp_path,
                **{field: value},
            )


def test_production_makes_no_secret_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.delenv("PII_KEY")
    with pytest.raises(ValidationError, match="SECRET_KEY \\(unset\\)"):
        Settings(_env_file=None, environment="production", keys_dir=tmp_path)  # type: ignore[call-arg]
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "pii_key").exists()
