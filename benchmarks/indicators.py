"""Indicator reads and completion writes at national scale, against raw SQL and a floor.

    python -m benchmarks.indicators --learners 10000000

Builds a synthetic country on PostgreSQL (a database it creates), then prints side by side:
the stats endpoints' latency (p50/p95) against the best raw SQL over the raw tables, the cost
the running totals add to a completion write, and req/s of the service under wrk (uvicorn with
uvloop and httptools, 2 workers, 32 connections) against a minimal psycopg endpoint, with the
service's cheapest authenticated request (`GET /api/v1/auth/me`) beside them.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

import httpx
import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.catalog.models import ProgramCourse
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine, write_bind
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords, PersonalIds
from app.ledger.versions import EVERYTHING, raise_versions
from app.seed import seed_all
from app.stats.service import METRICS
from app.training import service as training
from app.training.models import Completion
from app.training.schemas import CompletionCreate
from benchmarks.country import load_country

HERE = Path(__file__).resolve().parent
ADMIN, PASSWORD = "bench_admin", "bench-password-123"
SERVICE_PORT, FLOOR_PORT, COMPUTING_PORT = 18080, 18081, 18082


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


@contextmanager
def server(app: str, port: int, env: dict[str, str], factory: bool = False) -> Iterator[int]:
    """A uvicorn serving `app` as in production; yields the supervisor's process id."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--workers",
        "2",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _cpu_ticks(pid: int | str, *, children_reaped: bool = False) -> int:
    """A process's user + system ticks, and those of its reaped children if asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children_reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks


def workers_cpu_seconds(supervisor: int) -> float:
    """CPU time (user + system) used so far by a uvicorn supervisor's worker processes."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return sum(_cpu_ticks(child) for child in children) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """CPU time used so far by the local PostgreSQL server: its live processes, and the
    connections that have ended (reaped by the postmaster). None when it is not on this machine.
    """
    processes = [
        entry.parent.name
        for entry in Path("/proc").glob("[0-9]*/comm")
        if _read(entry) == "postgres"
    ]
    if not processes:
        return None
    running = set(processes)
    ticks = 0
    for pid in processes:
        try:
            parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            # The postmaster (the one whose parent is not PostgreSQL) reaps the others.
            ticks += _cpu_ticks(pid, children_reaped=parent not in running)
        except (FileNotFoundError, ProcessLookupError):  # a connection that ended meanwhile
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Load:
    """One wrk run: requests a second, and the CPU milliseconds per request of the server's
    workers and of the database (None when PostgreSQL runs elsewhere)."""

    rps: float
    server_cpu_ms: float
    database_cpu_ms: float | None


def wrk(url: str, script: Path, seconds: int, env: dict[str, str], supervisor: int) -> Load:
    """Requests per second at 32 connections over 2 threads, and what they cost."""
    before = workers_cpu_seconds(supervisor)
    database_before = postgres_cpu_seconds()
    output = subprocess.run(  # noqa: S603
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    used = workers_cpu_seconds(supervisor) - before
    database_after = postgres_cpu_seconds()
    rps = requests = None
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        elif "requests in" in line:
            requests = int(line.split()[0])
    if rps is None or not requests:
        raise RuntimeError(output)
    database = (
        (database_after - database_before) / requests * 1000
        if database_before is not None and database_after is not None
        else None
    )
    return Load(rps, used / requests * 1000, database)


RAW_SQL = """
WITH people AS (
    SELECT l.id, l.birth_date, l.is_official, l.official_level, l.is_pupil, l.is_worker
    FROM learner l WHERE {where} AND l.created_at < %(end)s
), held AS (
    SELECT c.learner_id, bool_or(c.program_code = ANY(%(citizen)s)) AS citizen,
           bool_or(c.program_code = ANY(%(citizen)s) AND c.vneid_delivered_at < %(end)s) AS vneid,
           bool_or(c.program_code = ANY(%(official)s)) AS official,
           bool_or(c.program_code = ANY(%(pupil)s)) AS pupil,
           bool_or(c.program_code = ANY(%(worker)s)) AS worker
    FROM certificate c JOIN people p ON p.id = c.learner_id
    WHERE c.attained_at < %(end)s AND (c.status <> 'revoked' OR c.revoked_at >= %(end)s)
    GROUP BY c.learner_id
)
SELECT
    count(*) FILTER (WHERE p.birth_date <= %(adult)s),
    count(*) FILTER (WHERE p.birth_date <= %(adult)s AND h.citizen),
    count(*) FILTER (WHERE p.birth_date <= %(adult)s AND h.vneid),
    count(*) FILTER (WHERE p.is_official), count(*) FILTER (WHERE p.is_official AND h.official),
    count(*) FILTER (WHERE p.is_official AND p.official_level = 'commune'),
    count(*) FILTER (WHERE p.is_official AND p.official_level = 'commune' AND h.official),
    count(*) FILTER (WHERE p.is_official AND p.official_level = 'province'),
    count(*) FILTER (WHERE p.is_official AND p.official_level = 'province' AND h.official),
    count(*) FILTER (WHERE p.is_pupil), count(*) FILTER (WHERE p.is_pupil AND h.pupil),
    count(*) FILTER (WHERE p.is_worker), count(*) FILTER (WHERE p.is_worker AND h.worker)
FROM people p LEFT JOIN held h ON h.learner_id = p.id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=10_000_000)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="hocvuso_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--seconds", type=int, default=15, help="length of each wrk run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="wrk runs of each kind, service and floor in turn"
    )
    parser.add_argument("--load-only", action="store_true", help="build the data and stop")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    admin_url = make_url(args.server_url).set(drivername="postgresql")
    dsn = admin_url.set(database=args.database).render_as_string(hide_password=False)
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    settings = Settings(
        database_url=url, password_hash_time_cost=1, password_hash_memory_kib=1024, _env_file=None
    )
    report: dict[str, object] = {"learners_requested": args.learners}

    if not args.reuse:
        with psycopg.connect(
            admin_url.render_as_string(hide_password=False), autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{args.database}"')
        upgrade_to_head(url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed_all(session)
            accounts.create_user(
                session,
                actor=None,
                passwords=Passwords(settings),
                data=UserCreate(
                    username=ADMIN,
                    password=PASSWORD,
                    full_name="Benchmark",
                    role=Role.national_admin,
                ),
            )
            session.commit()
            print(f"loading {args.learners:,} learners ...", flush=True)
            loaded = load_country(
                session, dsn, learners=args.learners, personal_ids=PersonalIds(settings)
            )
        engine.dispose()
        report["load"] = loaded.__dict__
        print(f"loaded {loaded}", flush=True)
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS bench_minimal "
                "(id uuid PRIMARY KEY, learner_id text, score float)"
            )

    if args.load_only:
        return
    engine = make_engine(url)
    with psycopg.connect(dsn) as connection:
        counts = {}
        for table in ("learner", "completion", "certificate", "stat_total"):
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            counts[table] = int(row[0]) if row else 0
        communes = [r[0] for r in connection.execute("SELECT code FROM commune").fetchall()]
        provinces = [r[0] for r in connection.execute("SELECT code FROM province").fetchall()]
        sample = [
            str(r[0])
            for r in connection.execute(
                "SELECT id FROM learner TABLESAMPLE SYSTEM (1) LIMIT 20000"
            ).fetchall()
        ]
        # The floor and the completions read these learners: their rows, results and
        # certificates are read once first, so that neither side pays for the disk alone
        # when the database is larger than the memory that caches it.
        started = time.perf_counter()
        connection.execute(
            "SELECT count(l.full_name), count(c.score), count(t.status) FROM learner l "
            "LEFT JOIN completion c ON c.learner_id = l.id "
            "LEFT JOIN certificate t ON t.learner_id = l.id WHERE l.id = ANY(%s::uuid[])",
            (sample,),
        )
        report["sample_read_s"] = time.perf_counter() - started
    report["rows"] = counts
    print(f"rows: {counts}, sample read in {report['sample_read_s']:.0f} s", flush=True)
    rng = random.Random(5)  # noqa: S311
    as_of = date(2026, 11, 22)
    env = {
        "DATABASE_URL": url,
        "ENVIRONMENT": "development",
        "BENCH_DSN": dsn,
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
    }

    workdir = tempfile.TemporaryDirectory()
    ids = Path(workdir.name) / "ids.txt"
    ids.write_text("\n".join(sample))
    codes = Path(workdir.name) / "communes.txt"
    codes.write_text("\n".join(communes))
    # Both apps are up from the start; only the one wrk drives is busy.
    with (
        server("app.main:app", SERVICE_PORT, env) as service_pid,
        server("benchmarks.minimal_app:create_app", FLOOR_PORT, env, factory=True) as floor_pid,
        # The same service keeping no answers: every stats request reads the figures.
        server("app.main:app", COMPUTING_PORT, env | {"STATS_ANSWERS_KEPT": "0"}) as computing_pid,
    ):
        base = f"http://127.0.0.1:{SERVICE_PORT}/api/v1"
        token = httpx.post(
            f"{base}/auth/token", data={"username": ADMIN, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=60) as http:

            def get(path: str) -> None:
                response = http.get(f"{base}{path}", params={"as_of": as_of.isoformat()})
                assert response.status_code == 200, response.text

            # "Computed": the unit's version moved just before (a change somewhere), so the
            # figures are read; "kept": the same unit asked again on the same connection (so
            # the same worker), answered from what that worker kept.
            def change_somewhere() -> None:
                with Session(engine) as changing:
                    raise_versions(changing, [EVERYTHING])
                    changing.commit()

            def both(path: Callable[[], str], repeat: int) -> tuple[list[float], list[float]]:
                computed, kept = [], []
                for _ in range(repeat):
                    unit = path()
                    change_somewhere()
                    computed += timed(lambda: get(unit), 1)  # noqa: B023
                    kept += timed(lambda: get(unit), 1)  # noqa: B023
                return computed, kept

            communes_timed = both(lambda: f"/stats/communes/{rng.choice(communes)}", 300)
            provinces_timed = both(lambda: f"/stats/provinces/{rng.choice(provinces)}", 200)
            national_timed = both(lambda: "/stats/national", 100)
            latency = {
                "commune": communes_timed[0],
                "province": provinces_timed[0],
                "national": national_timed[0],
            }
            kept_latency = {
                "commune": communes_timed[1],
                "province": provinces_timed[1],
                "national": national_timed[1],
            }
        raw = raw_sql_latency(dsn, engine, communes, provinces, as_of, rng)
        report["latency_ms"] = {k: percentiles(v) for k, v in latency.items()}
        report["raw_sql_ms"] = {k: percentiles(v) for k, v in raw.items()}
        report["kept_latency_ms"] = {k: percentiles(v) for k, v in kept_latency.items()}
        print_latency(report)

        writes = write_costs(engine, sample, rng)
        report["write_ms"] = writes
        print(json.dumps({"write_ms": writes}, indent=1), flush=True)

        wrk_env = {"BENCH_TOKEN": token, "BENCH_IDS": str(ids), "BENCH_COMMUNES": str(codes)}
        service_url = f"http://127.0.0.1:{SERVICE_PORT}"
        floor_url = f"http://127.0.0.1:{FLOOR_PORT}"
        # Service and floor take turns, round after round, so that a slow minute on this shared
        # machine hits both; the medians are compared. `auth_me` is what any authenticated
        # request costs: the token, the caller's account, a session.
        kinds = {
            "stats_commune": (service_url, "wrk_stats.lua", service_pid),
            "stats_computed": (
                f"http://127.0.0.1:{COMPUTING_PORT}",
                "wrk_stats.lua",
                computing_pid,
            ),
            "floor_read": (floor_url, "wrk_min_read.lua", floor_pid),
            "completion_write": (service_url, "wrk_completion.lua", service_pid),
            "floor_insert": (floor_url, "wrk_min_write.lua", floor_pid),
            "auth_me": (service_url, "wrk_me.lua", service_pid),
        }
        # Each worker computes a commune's answer the first time it is asked, then keeps it:
        # the kept rate is measured once the workers have seen the communes, after warm-up
        # runs that stop when the rate no longer rises by a tenth.
        warm_up: list[float] = []
        while len(warm_up) < 2 or (warm_up[-1] > 1.1 * warm_up[-2] and len(warm_up) < 8):
            url, script, pid = kinds["stats_commune"]
            warm_up.append(wrk(url, HERE / script, args.seconds, wrk_env, pid).rps)
        report["stats_warm_up_rps"] = warm_up
        print(json.dumps({"stats_warm_up_rps": warm_up}), flush=True)
        runs: dict[str, list[Load]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind, (url, script, pid) in kinds.items():
                runs[kind].append(wrk(url, HERE / script, args.seconds, wrk_env, pid))
    report["rps_runs"] = {kind: [load.rps for load in loads] for kind, loads in runs.items()}
    rps = {kind: statistics.median(load.rps for load in loads) for kind, loads in runs.items()}
    report["rps"] = {
        **rps,
        "stats_ratio": rps["stats_commune"] / rps["floor_read"],
        "stats_computed_ratio": rps["stats_computed"] / rps["floor_read"],
        "write_ratio": rps["completion_write"] / rps["floor_insert"],
        "auth_me_ratio": rps["auth_me"] / rps["floor_read"],
    }
    # Where the gap lies: CPU per request of the service's workers against the floor's, and of
    # the database behind each (medians over the rounds).
    report["server_cpu_ms_per_request"] = {
        kind: statistics.median(load.server_cpu_ms for load in loads)
        for kind, loads in runs.items()
    }
    report["database_cpu_ms_per_request"] = {
        kind: statistics.median(
            load.database_cpu_ms for load in loads if load.database_cpu_ms is not None
        )
        if all(load.database_cpu_ms is not None for load in loads)
        else None
        for kind, loads in runs.items()
    }
    print(json.dumps({"rps_runs": report["rps_runs"]}, indent=1))
    print(json.dumps(report["rps"], indent=1))
    print(json.dumps(report["server_cpu_ms_per_request"], indent=1))
    print(json.dumps(report["database_cpu_ms_per_request"], indent=1))
    alone = database_alone(dsn, as_of, args.seconds)
    if alone is not None:
        report["database_alone_qps"] = alone
        print(json.dumps({"database_alone_qps": alone}, indent=1), flush=True)
    (HERE / "last-indicators.json").write_text(json.dumps(report, indent=1, default=str))
    workdir.cleanup()
    engine.dispose()


TOTALS_ALONE = """\\set i random(1, {count})
SELECT u.code, m.metric,
       (SELECT coalesce(sum(t.count), 0) FROM stat_total t
        WHERE t.level = 'commune' AND t.unit_code = u.code AND t.metric = m.metric
          AND t.effective_on <= '{as_of}'),
       (SELECT coalesce(sum(t.count), 0) FROM stat_total t
        WHERE t.level = 'commune' AND t.unit_code = u.code AND t.metric = m.metric
          AND t.effective_on <= '{as_of}' AND t.effective_on > '{past}')
FROM (SELECT code FROM bench_commune_index WHERE i = :i) u
CROSS JOIN unnest('{{{metrics}}}'::text[]) AS m (metric);
"""
ONE_ROW_ALONE = """\\set i random(1, {count})
SELECT id, full_name, commune_code FROM learner
WHERE id = (SELECT learner_id FROM bench_learner_index WHERE i = :i);
"""


def database_alone(dsn: str, as_of: date, seconds: int) -> dict[str, float] | None:
    """Queries per second of PostgreSQL alone (pgbench, 4 clients, prepared statements).

    A random commune's totals (the statement behind a commune's stats) against a random
    learner's one-row read (the floor's statement): what each costs the database itself,
    with no HTTP and no Python.
    """
    if shutil.which("pgbench") is None:
        print("pgbench not found: the database-alone comparison is skipped", flush=True)
        return None
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_commune_index AS "
            "SELECT row_number() OVER (ORDER BY code) AS i, code FROM commune"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_learner_index AS "
            "SELECT row_number() OVER () AS i, id AS learner_id "
            "FROM learner TABLESAMPLE SYSTEM (1) LIMIT 20000"
        )
        for table in ("bench_commune_index", "bench_learner_index"):
            connection.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_i ON {table} (i)")
        row = connection.execute("SELECT count(*) FROM bench_learner_index").fetchone()
        learners = int(row[0]) if row else 0
        row = connection.execute("SELECT count(*) FROM bench_commune_index").fetchone()
        communes = int(row[0]) if row else 0
    url = make_url(dsn)
    result = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, script, count in (
            ("commune_totals", TOTALS_ALONE, communes),
            ("one_row_read", ONE_ROW_ALONE, learners),
        ):
            path = Path(folder) / f"{name}.sql"
            past = as_of - timedelta(days=90)
            path.write_text(
                script.format(count=count, past=past, as_of=as_of, metrics=",".join(METRICS))
            )
            command = [
                *("pgbench", "-n", "-c4", "-j2", f"-T{seconds}", "-Mprepared"),
                *(f"-h{url.host or '127.0.0.1'}", f"-p{url.port or 5432}"),
                *(f"-U{url.username or 'postgres'}", f"-f{path}", url.database or ""),
            ]
            output = subprocess.run(  # noqa: S603
                command,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            tps = [line for line in output.splitlines() if line.startswith("tps")]
            result[name] = float(tps[0].split()[2])
    return result


def raw_sql_latency(
    dsn: str,
    engine: object,
    communes: list[str],
    provinces: list[str],
    as_of: date,
    rng: random.Random,
) -> dict[str, list[float]]:
    """The same questions answered from learners and certificates directly."""
    with Session(engine) as session:  # type: ignore[arg-type]
        from app.ledger.rules import satisfying_programs

        satisfying = {g: sorted(p) for g, p in satisfying_programs(session).items()}
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(hours=17)
    params = {"end": end, "adult": as_of.replace(year=as_of.year - 18), **satisfying}
    with psycopg.connect(dsn) as connection:

        def run(where: str, value: str | None) -> None:
            connection.execute(RAW_SQL.format(where=where), {**params, "v": value}).fetchall()

        return {
            "commune": timed(lambda: run("l.commune_code = %(v)s", rng.choice(communes)), 60),
            "province": timed(lambda: run("l.province_code = %(v)s", rng.choice(provinces)), 10),
            "national": timed(lambda: run("TRUE", None), 3),
        }


def write_costs(engine: object, sample: list[str], rng: random.Random) -> dict[str, object]:
    """Completion writes in-process, with the totals kept and with them switched off."""
    from app.accounts.actor import Actor

    actor = Actor(
        user_id=1, username=ADMIN, role=Role.national_admin, province_code=None, commune_code=None
    )
    with Session(engine) as session:  # type: ignore[arg-type]
        courses = [
            (c.course_code, c.pass_score)
            for c in session.exec(
                select(ProgramCourse).where(ProgramCourse.program_code == "CHUAN-NGUOI-DAN")
            )
        ]
        fresh = []
        for learner_id in sample:
            done = session.exec(
                select(Completion.id).where(Completion.learner_id == uuid.UUID(learner_id))
            ).first()
            if done is None:
                fresh.append(learner_id)
            if len(fresh) >= 800:
                break

    def write(learner_id: str, course: str, keep_totals: bool) -> float:
        # Without the totals: no learner lock, no rows worked out, no upsert.
        switch: ExitStack[None] = ExitStack()
        if not keep_totals:
            for target in (
                "rules.lock_learner",
                "totals.certificates_changed",
                "totals.facts_changed",
            ):
                switch.enter_context(mock.patch(f"app.ledger.{target}", lambda *a, **k: None))
        with switch, Session(write_bind(engine)) as session:  # type: ignore[arg-type]
            bind_context(session, WriteContext(18))
            started = time.perf_counter()
            training.record_completion(
                session,
                actor=actor,
                data=CompletionCreate(
                    learner_id=uuid.UUID(learner_id),
                    course_code=course,
                    score=95,
                    completed_at=datetime.now(UTC),
                    method="class",
                ),
            )
            session.commit()
            return time.perf_counter() - started

    plain: dict[bool, list[float]] = {True: [], False: []}
    attaining: dict[bool, list[float]] = {True: [], False: []}
    for index, learner_id in enumerate(fresh):
        keep = index % 2 == 0
        for course, _ in courses[:-1]:
            plain[keep].append(write(learner_id, course, keep))
        attaining[keep].append(write(learner_id, courses[-1][0], keep))
    result: dict[str, object] = {}
    for name, samples in (("plain", plain), ("attaining", attaining)):
        with_totals = statistics.median(samples[True]) * 1000
        without = statistics.median(samples[False]) * 1000
        result[name] = {
            "with_totals_ms": with_totals,
            "without_totals_ms": without,
            "added": with_totals / without - 1,
        }
    return result


def print_latency(report: dict[str, object]) -> None:
    latency = report["latency_ms"]
    raw = report["raw_sql_ms"]
    kept = report["kept_latency_ms"]
    print(
        f"{'unit':<10}{'computed p50':>14}{'p95':>10}{'kept p50':>12}{'p95':>10}"
        f"{'raw SQL p50':>14}{'p95':>10}"
    )
    for unit in ("commune", "province", "national"):
        e50, e95 = latency[unit]  # type: ignore[index]
        k50, k95 = kept[unit]  # type: ignore[index]
        r50, r95 = raw[unit]  # type: ignore[index]
        print(
            f"{unit:<10}{e50:>12.1f}ms{e95:>8.1f}ms{k50:>10.1f}ms{k95:>8.1f}ms"
            f"{r50:>12.1f}ms{r95:>8.1f}ms"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
