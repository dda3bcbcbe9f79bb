"""Field-work benchmark: learners per second through the import endpoint and through sync,
against PostgreSQL's own COPY of the same rows into the same table, and the server's peak
memory while it imports files of different sizes.

    python -m benchmarks.fieldwork --rows 100000 --rows 1000000

Everything runs on PostgreSQL in databases this command creates (from one migrated and
seeded template) and drops when it is done; a real `uvicorn app.main:app` serves each leg.
See BENCHMARKS.md for what it measures and the figures.
"""

import argparse
import csv
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.citizen_id import PROVINCE_CODES
from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords, PersonalIds
from app.core.text import fold
from app.imports.learners import DEFAULT_CONSENT_PURPOSE, LEARNER_COLUMNS
from app.seed import seed_all
from app.training.schemas import MIDDAY
from app.units.models import Commune

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench_admin", "bench-mat-khau-dai-123"
HEADER = [
    "Số định danh cá nhân",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã xã",
    "Nhóm",
    "Ngày đồng ý",
]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em"]
CONSENT_DAY = date(2026, 3, 1)


# The people -----------------------------------------------------------------------------


def people(count: int, communes: list[str]) -> Iterator[dict[str, Any]]:
    """`count` distinct adults, the same on every call."""
    provinces = sorted(PROVINCE_CODES)
    chance = random.Random(2026)  # noqa: S311 (made-up people, the same every run)
    for n in range(count):
        year = chance.randint(1940, 2007)
        female = chance.random() < 0.5
        digit = (0 if year < 2000 else 2) + (1 if female else 0)
        yield {
            "citizen_id": f"{provinces[n // 1_000_000]}{digit}{year % 100:02d}{n % 1_000_000:06d}",
            "full_name": NAMES[n % len(NAMES)],
            "birth_date": date(year, chance.randint(1, 12), chance.randint(1, 28)),
            "sex": "female" if female else "male",
            "commune_code": communes[n % len(communes)],
        }


def write_csv(path: Path, count: int, communes: list[str]) -> None:
    """The file a commune would upload: Vietnamese headers, dd/mm/yyyy dates, `;`, BOM."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADER)
        for p in people(count, communes):
            writer.writerow(
                [
                    p["citizen_id"],
                    p["full_name"],
                    p["birth_date"].strftime("%d/%m/%Y"),
                    "Nữ" if p["sex"] == "female" else "Nam",
                    p["commune_code"],
                    "Người dân",
                    CONSENT_DAY.strftime("%d/%m/%Y"),
                ]
            )


def write_copy(path: Path, count: int, communes: list[str], *, user_id: int, province: str) -> None:
    """The same people as learner-table rows in COPY's text format (what an import stores)."""
    personal_ids = PersonalIds(Settings(_env_file=None))
    now = datetime.now(UTC).isoformat()
    given_at = datetime.combine(CONSENT_DAY, MIDDAY).astimezone(UTC).isoformat()
    null = "\\N"
    with path.open("w", encoding="utf-8") as stream:
        for p in people(count, communes):
            values = {
                "id": str(uuid.uuid4()),
                "citizen_id_hash": personal_ids.blind_index(p["citizen_id"]),
                "citizen_id_enc": personal_ids.encrypt(p["citizen_id"]),
                "citizen_id_last4": p["citizen_id"][-4:],
                "full_name": p["full_name"],
                "name_folded": fold(p["full_name"]),
                "birth_date": p["birth_date"].isoformat(),
                "sex": p["sex"],
                "province_code": province,
                "commune_code": p["commune_code"],
                "is_citizen": "t",
                "is_official": "f",
                "is_pupil": "f",
                "is_worker": "f",
                "consent_purpose": DEFAULT_CONSENT_PURPOSE,
                "consent_given_at": given_at,
                "created_at": now,
                "updated_at": now,
                "created_by_id": str(user_id),
            }
            stream.write("\t".join(values.get(c, null) for c in LEARNER_COLUMNS) + "\n")


def sync_batches(count: int, communes: list[str], size: int = 1000) -> Iterator[dict[str, Any]]:
    batch: list[dict[str, Any]] = []
    for p in people(count, communes):
        batch.append(
            {
                **p,
                "birth_date": p["birth_date"].isoformat(),
                "client_id": str(uuid.uuid4()),
                "groups": ["citizen"],
                "consent": {
                    "purpose": DEFAULT_CONSENT_PURPOSE,
                    "given_at": datetime.combine(CONSENT_DAY, MIDDAY).isoformat(),
                },
            }
        )
        if len(batch) == size:
            yield {"learners": batch}
            batch = []
    if batch:
        yield {"learners": batch}


# Databases and the server ----------------------------------------------------------------


class Postgres:
    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        return self.url.set(drivername="postgresql", database=name).render_as_string(False)

    def create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())


@contextmanager
def serving(database_url: str, spool: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": database_url, "IMPORTS_DIR": str(spool)}
    env.pop("ADMIN_USERNAME", None)
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def login(url: str) -> dict[str, str]:
    response = httpx.post(url + "/api/v1/auth/token", data={"username": USER, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# The legs ------------------------------------------------------------------------------------


# The learner table COPY goes into: as the schema has it; with the two indexes it had before
# it kept only those a query uses; and a table of the same columns with only the unique index
# of the ID number and the commune's index (no key, no foreign key), the floor for any table
# that keeps a person once and finds a commune's people.
TABLES = {
    "as is": [],
    "as it was": [
        "CREATE INDEX ix_learner_commune_code ON learner (commune_code)",
        "CREATE INDEX ix_learner_village_id ON learner (village_id)",
    ],
    # The same without its four foreign keys: what checking each row's commune, province,
    # village and creator costs (PostgreSQL runs a trigger and a look-up per key and row).
    "no foreign keys": [
        f"ALTER TABLE learner DROP CONSTRAINT {name}"
        for name in (
            "fk_learner_commune_code_commune",
            "fk_learner_province_code_province",
            "fk_learner_village_id_village",
            "fk_learner_created_by_id_user",
        )
    ],
    "bare": [
        "CREATE TABLE learner_bare (LIKE learner INCLUDING DEFAULTS)",
        "CREATE UNIQUE INDEX ON learner_bare (citizen_id_hash)",
        "CREATE INDEX ON learner_bare (commune_code)",
    ],
}


def leg_copy(database_url: str, copy_file: Path, table: str = "as is") -> float:
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        for statement in TABLES[table]:
            cursor.execute(statement)
        connection.commit()
        target = "learner_bare" if table == "bare" else "learner"
        started = time.perf_counter()
        with (
            cursor.copy(f"COPY {target} ({', '.join(LEARNER_COLUMNS)}) FROM STDIN") as copy,
            copy_file.open("rb") as stream,
        ):
            while block := stream.read(1024 * 1024):
                copy.write(block)
        connection.commit()
        return time.perf_counter() - started


def leg_import(database_url: str, csv_file: Path, rows: int, spool: Path) -> dict[str, float]:
    with serving(database_url, spool) as (url, process):
        headers = login(url)
        cpu_before = cpu_seconds(process.pid)
        started, started_at = time.perf_counter(), datetime.now(UTC)
        with csv_file.open("rb") as stream:
            response = httpx.post(
                url + "/api/v1/imports",
                data={"kind": "learners"},
                files={"file": (csv_file.name, stream, "text/csv")},
                headers=headers,
                timeout=3600,
            )
        response.raise_for_status()
        uploaded = time.perf_counter() - started
        import_id = response.json()["id"]
        while True:
            # Rarely, so that status requests take little from the import they measure.
            time.sleep(0.5)
            status = httpx.get(f"{url}/api/v1/imports/{import_id}", headers=headers).json()
            if status["status"] in ("done", "failed"):
                break
        # The server's clock is this machine's: the import ends when it says it finished.
        finished_at = datetime.fromisoformat(status["finished_at"].replace("Z", "+00:00"))
        elapsed = (finished_at - started_at).total_seconds()
        assert status["status"] == "done" and status["rows_stored"] == rows, status
        return {
            "seconds": elapsed,
            "upload_seconds": uploaded,
            # The server's CPU for the whole import, both its threads: a row's cost in Python.
            "cpu_us_per_row": (cpu_seconds(process.pid) - cpu_before) / rows * 1e6,
            "peak_rss_mib": peak_rss_mib(process.pid),
        }


def leg_sync(database_url: str, rows: int, communes: list[str], spool: Path) -> float:
    with serving(database_url, spool) as (url, _), httpx.Client(timeout=3600) as client:
        headers = login(url)
        started = time.perf_counter()
        for batch in sync_batches(rows, communes):
            key = {**headers, "Idempotency-Key": str(uuid.uuid4())}
            response = client.post(url + "/api/v1/sync", json=batch, headers=key)
            response.raise_for_status()
            created = sum(r["status"] == "created" for r in response.json()["results"])
            assert created == len(batch["learners"]), response.text[:500]
        return time.perf_counter() - started


def prepare_template(server: Postgres, name: str, communes_wanted: int) -> tuple[int, list[str]]:
    url = server.create(name)
    upgrade_to_head(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, _env_file=None)
    with Session(engine) as session:
        seed_all(session)
        user = accounts.create_user(
            session,
            actor=None,
            passwords=Passwords(settings),
            data=UserCreate(
                username=USER,
                password=PASSWORD,
                full_name="Benchmark",
                role=Role.province_admin,
                province_code="01",
            ),
        )
        communes = list(
            session.exec(
                select(Commune.code).where(Commune.province_code == "01").order_by(Commune.code)
            ).all()
        )[:communes_wanted]
        session.commit()
        assert user.id is not None
        user_id = user.id
    engine.dispose()
    return user_id, communes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="file sizes (repeatable)")
    parser.add_argument("--sync-rows", type=int, default=20_000, help="learners sent by sync")
    parser.add_argument("--communes", type=int, default=5, help="Hà Nội communes the rows span")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of COPY and of the import per size (medians)"
    )
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="server URL"
    )
    args = parser.parse_args()
    sizes = sorted(args.rows or [100_000])
    server = Postgres(args.postgres)
    tag = f"fieldwork_bench_{os.getpid()}"
    results: list[str] = []
    load_before = os.getloadavg()
    try:
        user_id, communes = prepare_template(server, tag + "_tpl", args.communes)
        with tempfile.TemporaryDirectory(prefix="fieldwork-bench-") as work:
            workdir = Path(work)
            for rows in sizes:
                csv_file, copy_file = workdir / f"hoc-vien-{rows}.csv", workdir / f"copy-{rows}.txt"
                write_csv(csv_file, rows, communes)
                write_copy(copy_file, rows, communes, user_id=user_id, province="01")
                # COPY and the import take turns, so a change in the machine's speed
                # touches both; the medians are compared.
                copies: dict[str, list[float]] = {table: [] for table in TABLES}
                import_runs: list[dict[str, float]] = []
                for _ in range(args.repeat):
                    for table, runs in copies.items():
                        database = server.create(f"{tag}_copy", template=tag + "_tpl")
                        runs.append(leg_copy(database, copy_file, table))
                        server.drop(f"{tag}_copy")
                    database = server.create(f"{tag}_import", template=tag + "_tpl")
                    import_runs.append(leg_import(database, csv_file, rows, workdir / "spool"))
                    server.drop(f"{tag}_import")
                copy_runs = copies["as is"]
                copy_seconds = statistics.median(copy_runs)
                measured = {
                    key: statistics.median(run[key] for run in import_runs)
                    for key in import_runs[0]
                }
                measured["peak_rss_mib"] = max(run["peak_rss_mib"] for run in import_runs)
                print(
                    f"  {rows:,} rows, each run: "
                    + "; ".join(
                        f"COPY {table} " + ", ".join(f"{rows / s:,.0f}" for s in runs)
                        for table, runs in copies.items()
                    )
                    + " rows/s; import "
                    + ", ".join(f"{rows / run['seconds']:,.0f}" for run in import_runs)
                    + " rows/s",
                    flush=True,
                )
                copy_rate = rows / copy_seconds
                import_rate = rows / measured["seconds"]
                was_rate = rows / statistics.median(copies["as it was"])
                bare_rate = rows / statistics.median(copies["bare"])
                loose_rate = rows / statistics.median(copies["no foreign keys"])
                results.append(
                    f"| {rows:,} | {was_rate:,.0f} | {copy_rate:,.0f} | {loose_rate:,.0f} "
                    f"| {bare_rate:,.0f} "
                    f"| {import_rate:,.0f} ({measured['upload_seconds']:.1f} s upload, "
                    f"server CPU {measured['cpu_us_per_row']:.0f} µs a row) "
                    f"| {import_rate / copy_rate:.2f} | {import_rate / bare_rate:.2f} "
                    f"| {measured['peak_rss_mib']:.0f} MiB |"
                )
                print(results[-1], flush=True)
                csv_file.unlink()
                copy_file.unlink()
            sync_rate = float("nan")
            if args.sync_rows:
                database = server.create(f"{tag}_sync", template=tag + "_tpl")
                sync_rate = args.sync_rows / leg_sync(database, args.sync_rows, communes, workdir)
                server.drop(f"{tag}_sync")
    finally:
        for name in list(server.created):
            server.drop(name)
        server.admin.dispose()
    print()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"PostgreSQL {server.version()}, Python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"rows span {len(communes)} communes of Hà Nội; sync: {args.sync_rows:,} learners "
        f"in batches of 1,000 → {sync_rate:,.0f} learners/s"
    )
    print()
    print(
        "| rows | COPY, learner as it was | COPY, learner as is "
        "| COPY, learner without foreign keys | COPY, bare table "
        "| import learners/s | import ÷ COPY as is | import ÷ COPY bare | server peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
