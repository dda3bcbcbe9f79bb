from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.core.config import Settings
from app.core.security import PersonalIds
from app.main import create_app
from tests.factories import login


def test_production_refuses_default_or_short_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.delenv("PII_KEY")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", pii_key="p" * 40, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="PII_KEY"):
        Settings(environment="production", secret_key="s" * 40, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(  # type: ignore[call-arg]
            environment="production", secret_key="short", pii_key="p" * 40, _env_file=None
        )
    secrets = {"secret_key": "s" * 40, "pii_key": "p" * 40, "_env_file": None}
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
        Settings(  # type: ignore[call-arg]
            environment="production",
            vneid_base_url="https://vneid.example.gov.vn/partner",
            serve_url="http://127.0.0.1:8000",
            **secrets,
        )
    secrets["public_base_url"] = "https://binhdanhocvuso.example.vn"
    with pytest.raises(ValidationError, match="VNEID_BASE_URL"):
        Settings(environment="production", **secrets)  # type: ignore[arg-type]
    fine = Settings(
        environment="production",
        vneid_base_url="https://vneid.example.gov.vn/partner",
        **secrets,  # type: ignore[arg-type]
    )
    assert fine.environment == "production" and not fine.mounts_mock_vneid
    demo = Settings(environment="production", mock_vneid_mounted=True, **secrets)  # type: ignore[arg-type]
    assert demo.mounts_mock_vneid


def test_production_refusal_stops_the_app_from_being_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        create_app()


def test_admin_from_environment_is_created_once(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"admin_username": "quantri", "admin_password": SecretStr("mat-khau-quan-tri-1")}
    )
    for _ in range(2):
        with TestClient(create_app(configured)) as client:
            headers = login(client, "quantri", "mat-khau-quan-tri-1")
            me = client.get("/api/v1/auth/me", headers=headers).json()
            assert me["role"] == "national_admin"
            with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
                assert session.exec(select(func.count()).select_from(User)).one() == 1


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["vneid"] == {
        "ok": True,
        "url": "http://127.0.0.1:8000/mock-vneid",
        "error": None,
    }
    assert client.get("/healthz").headers["x-request-id"]


def test_unknown_path_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["title"] == "Not found"
    wrong = client.put("/api/v1/provinces")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")


def test_openapi_describes_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/learners",
        "/api/v1/learners/{learner_id}",
        "/api/v1/communes",
        "/api/v1/users",
    ):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200


def test_blind_indexes_stay_the_ones_already_stored() -> None:
    """Registered people are found by the blind index stored with them: the same key must
    give the same index for the same ID number, release after release, whichever threads ask."""
    ids = PersonalIds(Settings(_env_file=None, pii_key="khoa-thu-nghiem-chi-so-mu-0123456789"))
    known = {
        "001085012345": "d5e3ea266d5fb51287475d1e16c8e5d469322d1033ad14fc6fcf45835348e28e",
        "079203000123": "a01d7a2c4cc9ae48895ffcf5253e72d98fc3982939b7d692ffec1d53e1a3c8b8",
    }
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(ids.blind_index, list(known) * 500))
    assert found == list(known.values()) * 500
