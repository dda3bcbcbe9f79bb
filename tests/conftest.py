"""Test fixtures: a fresh, migrated and seeded database per test, on SQLite and PostgreSQL.

Each backend gets one template database built by the Alembic migrations and the seed; every
test then gets its own copy (a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on
PostgreSQL), so tests are isolated and may commit, as the service does.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine
from app.core.migrate import upgrade_to_head
from app.main import create_app
from app.seed import seed_all

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


# Tests pass their secrets (the service would make random ones and keep them in KEYS_DIR):
# the template's demo citizens are indexed with the same PII_KEY every test uses.
TEST_SECRETS = {
    "secret_key": SecretStr("test-only-secret-key-" + "s" * 32),
    "pii_key": SecretStr("test-only-pii-key-" + "p" * 32),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked `postgresql_only` is skipped on SQLite before its fixtures are built.

    Tests marked `long` go first: started last, one would keep a worker busy after the others
    have finished.
    """
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
    for item in items:
        marker = item.get_closest_marker("postgresql_only")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            continue
        if "sqlite" in (callspec.params.get(name) for name in DATABASE_FIXTURES):
            item.add_marker(pytest.mark.skip(reason=marker.args[0]))


DATABASE_FIXTURES = ("database_url", "empty_database_url")


@pytest.fixture(autouse=True)
def no_event_loop_left_running(request: pytest.FixtureRequest) -> None:
    """No test may find an event loop running in the main thread (an open Playwright would
    leave one): the console's commands call asyncio.run, which then fails. Tests run in any
    order, in any worker."""
    if WEB_TESTS in request.node.path.parents:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    pytest.fail(f"an earlier test left an event loop running: {loop!r}")


WEB_TESTS = Path(__file__).parent / "web"


@pytest.fixture(autouse=True)
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console commands a test runs read the same secrets as its app."""
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name.upper(), value.get_secret_value())


def _seed(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        seed_all(session, settings=Settings(environment="test", _env_file=None, **TEST_SECRETS))  # type: ignore[call-arg, arg-type]
        session.commit()
    engine.dispose()


def _refuse_writes_in_autocommit(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
    """A read request runs in autocommit on PostgreSQL, where a write would not be atomic.

    A GET route that writes (an audited read) must say so with `WritesOnRead`; this makes
    every test on PostgreSQL fail when one does not.
    """
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return
    if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        raise AssertionError(f"a write in a read-only request: {statement[:60]}")


@pytest.fixture(scope="session", autouse=True)
def reads_do_not_write() -> Iterator[None]:
    event.listen(Engine, "before_cursor_execute", _refuse_writes_in_autocommit)
    yield
    event.remove(Engine, "before_cursor_execute", _refuse_writes_in_autocommit)


# Where the system has memory-backed storage the tests' SQLite files live there: the service
# commits with synchronous=FULL, and waiting for the disk at every commit tells a test nothing.
MEMORY_DIR = Path("/dev/shm")  # noqa: S108 (each test gets its own mkdtemp there)


@contextmanager
def database_dir(fallback: Path) -> Iterator[Path]:
    """A directory for SQLite files, in memory when the system has one (removed after)."""
    if not (MEMORY_DIR.is_dir() and os.access(MEMORY_DIR, os.W_OK)):
        yield fallback
        return
    directory = Path(tempfile.mkdtemp(prefix="hocvuso-", dir=MEMORY_DIR))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with database_dir(tmp_path_factory.mktemp("template")) as directory:
        path = directory / "template.db"
        url = f"sqlite:///{path}"
        upgrade_to_head(url)
        _seed(url)
        # Fold the WAL into the main file so a plain copy carries everything.
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield path


class PostgresServer:
    """Creates and drops databases on the server named by TEST_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        # WAL_LOG copies a small template without the checkpoint FILE_COPY forces.
        clause = f' TEMPLATE "{template}" STRATEGY WAL_LOG' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
            # A test needs a commit visible, not flushed to the disk before it answers: no test
            # crashes the server.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Clones:
    """Copies of the template, made ahead and dropped behind, in threads of their own.

    A copy (WAL_LOG) costs the server a fraction of a second, made while the tests run. Dropping
    one forces a checkpoint, a second or more of disk: used copies are dropped in batches, all at
    once, so that one checkpoint serves the batch and no test waits behind a drop.
    """

    AHEAD = 2
    DROP_BATCH = 8

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clones")
        self.dropper = ThreadPoolExecutor(max_workers=self.DROP_BATCH, thread_name_prefix="drops")
        self.ready: deque[Future[str]] = deque(self._make() for _ in range(self.AHEAD))
        self.used: list[str] = []

    def _make(self) -> "Future[str]":
        # The process id in the name tells whose copy a leftover is.
        name = f"hocvuso_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        return self.maker.submit(self._create, name)

    def _create(self, name: str) -> str:
        self.server.create(name, template=self.template)
        return name

    def take(self) -> str:
        """The name of a fresh copy, for one test to use and give back."""
        name = self.ready.popleft().result()
        self.ready.append(self._make())
        return name

    def give_back(self, name: str) -> None:
        self.used.append(name)
        if len(self.used) >= self.DROP_BATCH:
            self._drop_used()

    def _drop_used(self) -> None:
        batch, self.used = self.used, []
        for name in batch:
            self.dropper.submit(self.server.drop, name)

    def close(self) -> None:
        self.used += [future.result() for future in self.ready]
        self.ready.clear()
        self._drop_used()
        self.maker.shutdown(wait=True)
        self.dropper.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[PostgresServer, Clones]]:
    server = PostgresServer(os.environ["TEST_DATABASE_URL"])
    # One template per process: parallel workers (and parallel runs) never share one.
    template = f"hocvuso_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = server.create(template)
    upgrade_to_head(url)
    _seed(url)
    clones = Clones(server, template)
    yield server, clones
    clones.close()
    server.drop(template)
    server.admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database for this test, already migrated and seeded."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        with database_dir(tmp_path) as directory:
            path = directory / "test.db"
            shutil.copyfile(template, path)
            yield f"sqlite:///{path}"
        return
    server, clones = request.getfixturevalue("postgres")
    name = clones.take()
    yield server.url_for(name)
    clones.give_back(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        keys_dir=tmp_path / "keys",
        # The delivery and recount workers are driven by hand in tests; fetch a rotated JWKS
        # at once.
        delivery_worker=False,
        recount_worker=False,
        jwks_min_refresh_seconds=0,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
        # Starting argon2's four threads costs far more than a test's tiny hash itself.
        password_hash_parallelism=1,
        login_max_failures=5,
        admin_username=None,
        admin_password=None,
        **TEST_SECRETS,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client against a freshly built app on this test's database.

    The app's own HTTP clients (to VNeID, mounted at /mock-vneid, and back to the tracker's
    keys) go through an in-process transport, so no test needs the network.
    """
    app = create_app(settings)
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def session(client: TestClient, database_url: str) -> Iterator[Session]:
    """A session for arranging data and checking what the service stored.

    On SQLite it uses the driver's own transaction handling, where a read starts no
    transaction, so every check sees the latest commits (as READ COMMITTED does on PostgreSQL)
    instead of a snapshot taken at the test's first query.
    """
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 10})
    else:
        engine = make_engine(database_url, pool_size=2)
    with Session(engine, expire_on_commit=False) as db:
        bind_context(db, WriteContext(client.app.state.settings.adult_age))  # type: ignore[attr-defined]
        yield db
    engine.dispose()


@pytest.fixture
def staff(session: Session, client: TestClient) -> "Staff":
    """Staff of every role in Hà Nội (two communes) and Tuyên Quang (one commune)."""
    return Staff(session, client)


from tests.factories import Staff  # noqa: E402


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = PostgresServer(os.environ["TEST_DATABASE_URL"])
    name = f"hocvuso_e_{uuid.uuid4().hex[:12]}"
    yield server.create(name)
    server.drop(name)
    server.admin.dispose()
