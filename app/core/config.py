"""Settings: the only place that reads the environment."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-secret-key-change-me-0123456789abcdef"
DEFAULT_PII_KEY = "dev-pii-key-change-me-0123456789abcdef0123"
DEFAULT_VNEID_BASE_URL = "http://127.0.0.1:8000/mock-vneid"


class Settings(BaseSettings):
    """Service configuration, read from the environment (and `.env` when present)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./hocvuso.db"
    # Signs access tokens (HS256). Long and random in production.
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    # Keys the blind index of personal ID numbers and their encryption.
    pii_key: SecretStr = SecretStr(DEFAULT_PII_KEY)

    admin_username: str | None = None
    admin_password: SecretStr | None = None

    token_issuer: str = "hocvuso"
    token_audience: str = "hocvuso-api"
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)

    adult_age: int = Field(default=18, ge=1, le=100)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    page_limit_default: int = Field(default=50, ge=1, le=500)

    # Cheap hashing keeps the test suite fast; production keeps argon2's defaults.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)

    log_level: str = "INFO"

    # Certificates: the tracker's public address (the credentials' issuer, verification links)
    # and the directory of PEM signing keys (created in development when empty).
    public_base_url: str = "http://127.0.0.1:8000"
    keys_dir: Path = Path("./keys")

    # VNeID: where the tracker delivers certificates and checks identities (the mounted mock by
    # default), the issuer and audience of its sign-in tokens, and the delivery outbox.
    vneid_base_url: str = DEFAULT_VNEID_BASE_URL
    vneid_issuer: str = "http://127.0.0.1:8000/mock-vneid"
    vneid_client_id: str = "hocvuso"
    vneid_check_identity: bool = False
    vneid_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    vneid_connect_retries: int = Field(default=2, ge=0, le=10)
    # An unknown kid makes us fetch the other side's JWKS again, at most this often.
    jwks_min_refresh_seconds: float = Field(default=5.0, ge=0)
    delivery_worker: bool = True
    # Recounts after a change to the counting rules run in the background: how often to look.
    recount_worker: bool = True
    recount_poll_seconds: float = Field(default=5.0, gt=0)
    # How many units' indicators each worker keeps, answered again while nothing they show has
    # changed (about 3 KB each); 0 reads the figures for every request.
    stats_answers_kept: int = Field(default=8192, ge=0)
    delivery_poll_seconds: float = Field(default=15.0, gt=0)
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=3600.0, gt=0)

    # The mock VNeID: mounted at /mock-vneid (by default everywhere but production), with its
    # own keys.
    mock_vneid_mounted: bool | None = None
    mock_vneid_keys_dir: Path | None = None
    # Field work: phone sync and imports.
    # Retries with an Idempotency-Key answer the first answer for this long, then it is forgotten.
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    # A key whose request died (a crash) is taken over after this long "in progress".
    idempotency_lock_seconds: int = Field(default=120, ge=1)
    # Uploaded import files are spooled here until their import is done.
    imports_dir: Path = Path("./imports")
    # Import uploads may be larger than other bodies (MAX_BODY_BYTES).
    import_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    # Rows stored per committed chunk; a crash resumes after the last committed chunk.
    import_chunk_rows: int = Field(default=5000, ge=1, le=10_000)
    # A worker renews its claim on an import with every chunk; a claim older than this is
    # taken over (the worker died).
    import_lease_seconds: int = Field(default=60, ge=1)
    # How often an idle worker looks for imports (uploads wake it at once).
    import_poll_seconds: float = Field(default=2.0, gt=0)

    # Pages: the browser session's lifetime (renewed while in use) and the audience of its
    # credential, which the API's bearer check refuses.
    web_session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_session_audience: str = "hocvuso-web"

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            problems.append("SECRET_KEY")
        if self.pii_key.get_secret_value() == DEFAULT_PII_KEY:
            problems.append("PII_KEY")
        for name, value in (("SECRET_KEY", self.secret_key), ("PII_KEY", self.pii_key)):
            if len(value.get_secret_value()) < 32 and name not in problems:
                problems.append(f"{name} (shorter than 32 characters)")
        if problems:
            raise ValueError(
                "refusing to start in production with default or weak secrets: "
                + ", ".join(problems)
            )
        if self.vneid_base_url == DEFAULT_VNEID_BASE_URL and not self.mounts_mock_vneid:
            # Certificates would wait for a VNeID that is not there.
            raise ValueError(
                "refusing to start in production without VNEID_BASE_URL "
                "(or MOCK_VNEID_MOUNTED=true for a demonstration)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/")

    @property
    def mounts_mock_vneid(self) -> bool:
        if self.mock_vneid_mounted is None:
            return self.environment != "production"
        return self.mock_vneid_mounted

    @property
    def mock_keys_dir(self) -> Path:
        return self.mock_vneid_keys_dir or self.keys_dir / "mock-vneid"
