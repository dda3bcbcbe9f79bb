"""Settings: the only place that reads the environment."""

import os
import secrets
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values once shipped as defaults: public, so refused everywhere.
PUBLISHED_SECRETS = frozenset(
    {"dev-secret-key-change-me-0123456789abcdef", "dev-pii-key-change-me-0123456789abcdef0123"}
)
DEFAULT_VNEID_BASE_URL = "http://127.0.0.1:8000/mock-vneid"


class Settings(BaseSettings):
    """Service configuration, read from the environment (and `.env` when present)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./hocvuso.db"
    # PostgreSQL: how long the service's statements wait for a lock, and run at most, before
    # the database cancels them (the request answers 503 with Retry-After): a row held by
    # another transaction makes requests fail fast instead of piling up behind it. 0: no limit.
    database_lock_timeout_ms: int = Field(default=5000, ge=0)
    database_statement_timeout_ms: int = Field(default=30000, ge=0)
    # How long /readyz waits for the database to answer before it reports it not ready.
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    keys_dir: Path = Path("./keys")
    # Signs access tokens (HS256). Unset outside production: a random one kept in KEYS_DIR.
    secret_key: SecretStr = Field(default_factory=lambda data: _kept_secret(data, "secret_key"))
    # Keys the blind index of personal ID numbers and their encryption (the same way).
    pii_key: SecretStr = Field(default_factory=lambda data: _kept_secret(data, "pii_key"))

    admin_username: str | None = None
    admin_password: SecretStr | None = None

    token_issuer: str = "hocvuso"
    token_audience: str = "hocvuso-api"
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    # Failed sign-ins to one account from every address, and from one address to any account:
    # higher than the per account-and-address limit, so that neither a guesser elsewhere nor
    # colleagues behind one NAT lock a person out.
    login_max_failures_per_account: int = Field(default=20, ge=1)
    login_max_failures_per_address: int = Field(default=200, ge=1)
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""

    adult_age: int = Field(default=18, ge=1, le=100)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    page_limit_default: int = Field(default=50, ge=1, le=500)

    # Cheap hashing keeps the test suite fast; production keeps argon2's defaults.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)
    # argon2's lanes, each hashed in a thread of its own (its default, 4).
    password_hash_parallelism: int = Field(default=4, ge=1)

    log_level: str = "INFO"
    # /metrics answers only `Authorization: Bearer <token>` when set (else anyone who reaches it).
    metrics_token: SecretStr | None = None
    # Several worker processes: a directory they share makes /metrics add up every worker's
    # HTTP figures (prometheus-client's multiprocess mode; empty it before starting).
    prometheus_multiproc_dir: str | None = None

    # Certificates: the tracker's public address (the credentials' issuer, verification links)
    # and the directory of PEM signing keys (created in development when empty).
    public_base_url: str = "http://127.0.0.1:8000"
    # Where the service listens, as `hocvuso serve` sets it from --host and --port: the
    # addresses left unset (PUBLIC_BASE_URL; VNEID_BASE_URL and VNEID_ISSUER when the mock is
    # mounted) follow it, instead of pointing at a port nobody listens on.
    serve_url: str | None = None

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
    # A delivery still waiting this long after it was due is listed as stuck.
    delivery_stuck_minutes: int = Field(default=60, ge=1)

    # The mock VNeID: mounted at /mock-vneid (by default everywhere but production), with its
    # own keys.
    mock_vneid_mounted: bool | None = None
    mock_vneid_keys_dir: Path | None = None
    # Wrong passcodes the mock takes per citizen, and per client address, in a window, before
    # it answers 429 with Retry-After.
    mock_vneid_max_failures: int = Field(default=5, ge=1)
    mock_vneid_max_failures_per_address: int = Field(default=50, ge=1)
    mock_vneid_failure_window_seconds: int = Field(default=15 * 60, ge=1)
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
    # Hostile files: rows a file may hold (the biggest real list is a province's), rejected
    # rows after which an import stops, and what an XLSX may inflate to before it is parsed.
    import_max_rows: int = Field(default=2_000_000, ge=1, le=100_000_000)
    import_max_rejected_rows: int = Field(default=20_000, ge=1)
    import_max_inflated_bytes: int = Field(default=2 * 1024**3, ge=1024 * 1024)
    # The shared-strings table is the one part of an XLSX read whole into memory.
    import_max_shared_strings_bytes: int = Field(default=256 * 1024**2, ge=1024 * 1024)
    import_max_inflation_ratio: int = Field(default=100, ge=10)
    import_max_parts: int = Field(default=1000, ge=10)

    @model_validator(mode="after")
    def _derive_unset_addresses(self) -> Self:
        given = self.model_fields_set
        derived: dict[str, str] = {}
        if self.serve_url and "public_base_url" not in given:
            derived["public_base_url"] = self.serve_url.rstrip("/")
        # The mounted mock is reached where the service listens (or at its public address).
        listening = self.serve_url or (self.public_base_url if "public_base_url" in given else None)
        if listening and self.mounts_mock_vneid:
            mock = listening.rstrip("/") + "/mock-vneid"
            for name in ("vneid_base_url", "vneid_issuer"):
                if name not in given:
                    derived[name] = mock
        for name, value in derived.items():
            # The model is frozen once built; this is still part of building it.
            object.__setattr__(self, name, value)
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        _networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    # Pages: the browser session's lifetime (renewed while in use) and the audience of its
    # credential, which the API's bearer check refuses.
    web_session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_session_audience: str = "hocvuso-web"

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        published = [
            name
            for name, value in (("SECRET_KEY", self.secret_key), ("PII_KEY", self.pii_key))
            if value.get_secret_value() in PUBLISHED_SECRETS
        ]
        if published:
            raise ValueError("refusing to start with a published secret: " + ", ".join(published))
        if self.environment != "production":
            return self
        problems = []
        for name, value in (("SECRET_KEY", self.secret_key), ("PII_KEY", self.pii_key)):
            if not value.get_secret_value():
                problems.append(f"{name} (unset)")
            elif len(value.get_secret_value()) < 32:
                problems.append(f"{name} (shorter than 32 characters)")
        if problems:
            raise ValueError(
                "refusing to start in production with missing or weak secrets: "
                + ", ".join(problems)
            )
        if self.vneid_base_url == DEFAULT_VNEID_BASE_URL and not self.mounts_mock_vneid:
            # Certificates would wait for a VNeID that is not there.
            raise ValueError(
                "refusing to start in production without VNEID_BASE_URL "
                "(or MOCK_VNEID_MOUNTED=true for a demonstration)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_an_unset_public_address_in_production(self) -> Self:
        # Every credential names this address as its issuer, and it is kept as one for ever.
        if self.environment == "production" and "public_base_url" not in self.model_fields_set:
            raise ValueError(
                "refusing to start in production without PUBLIC_BASE_URL: certificates would "
                "name a local address as their issuer and QR codes would open it"
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


@cache
def _networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """`10.0.0.5, 192.168.0.0/24` as networks (a ValueError names a bad entry)."""
    return tuple(ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())


def _kept_secret(data: dict[str, Any], name: str) -> SecretStr:
    """A secret made at random on first start and kept in KEYS_DIR (never in production).

    Production has no default: the validator refuses the empty value.
    """
    directory = data.get("keys_dir")
    if data.get("environment") == "production" or directory is None:
        return SecretStr("")
    return SecretStr(kept_random_secret(Path(directory) / name))


def kept_random_secret(path: Path) -> str:
    """The secret in `path`, made first if absent; concurrent first starts agree on one."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        # A link fails if another process made the file first: then theirs is the secret.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()
