"""Phones' batches on PostgreSQL: one phone's batch of a thousand records alone, and 24 phones
sending batches of 200 at once over the same communes, beside the import's rate per row.

    python -m benchmarks.phones --before /tmp/hocvuso-before

`--before` names a source tree of another version (`git archive main | tar -x -C DIR`): its
server and this one's take turns on the same batches, so the figures compare in one run.
Everything runs in databases this command creates from one migrated and seeded template and
drops when it is done; a real `uvicorn app.main:app` serves each leg.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.imports.learners import DEFAULT_CONSENT_PURPOSE
from benchmarks import fieldwork
from benchmarks.fieldwork import Postgres, login, people, prepare_template, write_csv

COURSE = "CB-VNEID"


def batches(
    count: int, communes: list[str], size: int, *, start: int = 0, results: bool = True
) -> Iterator[dict[str, Any]]:
    """Batches of `size` records: new learners, each with a result when `results`."""
    per_batch = size // 2 if results else size
    learners: list[dict[str, Any]] = []
    for n, person in enumerate(people(start + count, communes)):
        if n < start:
            continue
        learners.append(
            {
                **person,
                "birth_date": person["birth_date"].isoformat(),
                "client_id": str(uuid.uuid4()),
                "groups": ["citizen"],
                "consent": {
                    "purpose": DEFAULT_CONSENT_PURPOSE,
                    "given_at": "2026-03-01T12:00:00+07:00",
                },
            }
        )
        if len(learners) == per_batch:
            yield _batch(learners, results)
            learners = []
    if learners:
        yield _batch(learners, results)


def _batch(learners: list[dict[str, Any]], results: bool) -> dict[str, Any]:
    completions = [
        {
            "client_id": str(uuid.uuid4()),
            "learner_client_id": learner["client_id"],
            "course_code": COURSE,
            "completed_at": "2026-03-14T09:30:00+07:00",
            "score": 85,
            "method": "home_visit",
        }
        for learner in (learners if results else [])
    ]
    return {"learners": learners, "completions": completions}


@contextmanager
def serving(database_url: str, spool: Path, source: Path | None) -> Iterator[str]:
    """This tree's server, or the one of `source`."""
    if source is None:
        with fieldwork.serving(database_url, spool) as (url, _):
            yield url
        return
    saved_root, saved_path = fieldwork.ROOT, os.environ.get("PYTHONPATH")
    fieldwork.ROOT = source
    os.environ["PYTHONPATH"] = str(source)
    try:
        with fieldwork.serving(database_url, spool) as (url, _):
            yield url
    finally:
        fieldwork.ROOT = saved_root
        if saved_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved_path


def _send(client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post(
        url + "/api/v1/sync", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    statuses = {r["status"] for r in response.json()["results"]}
    assert statuses == {"created"}, response.text[:500]
    return elapsed


def leg_alone(
    url: str, communes: list[str], count: int, size: int, start: int, *, results: bool = True
) -> list[float]:
    """One phone's batches of `size` records, one after the other: each batch's seconds."""
    with httpx.Client(timeout=600) as client:
        headers = login(url)
        return [
            _send(client, url, headers, body)
            for body in batches(count, communes, size, start=start, results=results)
        ]


def leg_crowd(
    url: str, communes: list[str], phones: int, rounds: int, size: int, start: int
) -> tuple[list[float], int]:
    """`phones` phones at once, each sending `rounds` batches of `size` records over the same
    communes: every batch's seconds, and the number of failed requests."""
    headers = login(url)
    per_phone = rounds * size // 2

    def phone(n: int) -> tuple[list[float], int]:
        seconds, failed = [], 0
        with httpx.Client(timeout=600) as client:
            for body in batches(per_phone, communes, size, start=start + n * per_phone):
                try:
                    seconds.append(_send(client, url, headers, body))
                except (httpx.HTTPError, AssertionError):
                    failed += 1
        return seconds, failed

    with ThreadPoolExecutor(max_workers=phones) as pool:
        answers = list(pool.map(phone, range(phones)))
    return [s for seconds, _ in answers for s in seconds], sum(f for _, f in answers)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="source tree of the version to compare")
    parser.add_argument("--batches", type=int, default=5, help="batches of 1,000 per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each leg (interleaved)")
    parser.add_argument("--phones", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3, help="batches of 200 per phone")
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--communes", type=int, default=5, help="Hà Nội communes the rows span")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="server URL"
    )
    args = parser.parse_args()
    server = Postgres(args.postgres)
    tag = f"phones_bench_{os.getpid()}"
    versions: dict[str, Path | None] = {"this": None}
    if args.before is not None:
        versions = {"before": args.before, "this": None}
    alone: dict[str, dict[str, list[float]]] = {v: {"mixed": [], "learners": []} for v in versions}
    crowd: dict[str, list[float]] = {v: [] for v in versions}
    failures: dict[str, int] = dict.fromkeys(versions, 0)
    imports: list[float] = []
    load_before = os.getloadavg()
    try:
        _, communes = prepare_template(server, tag + "_tpl", args.communes)
        with tempfile.TemporaryDirectory(prefix="phones-bench-") as work:
            workdir = Path(work)
            csv_file = workdir / "hoc-vien.csv"
            write_csv(csv_file, args.import_rows, communes)
            for run in range(args.repeat):
                for version, source in versions.items():
                    database = server.create(f"{tag}_db", template=tag + "_tpl")
                    with serving(database, workdir / "spool", source) as url:
                        count = args.batches * 500
                        alone[version]["mixed"] += leg_alone(url, communes, count, 1000, 0)
                        alone[version]["learners"] += leg_alone(
                            url, communes, 1000, 1000, count, results=False
                        )
                        seconds, failed = leg_crowd(
                            url, communes, args.phones, args.rounds, 200, count + 1000
                        )
                        crowd[version] += seconds
                        failures[version] += failed
                    server.drop(f"{tag}_db")
                    print(f"  run {run + 1}, {version}: done", flush=True)
                database = server.create(f"{tag}_import", template=tag + "_tpl")
                measured = fieldwork.leg_import(
                    database, csv_file, args.import_rows, workdir / "spool"
                )
                imports.append(args.import_rows / measured["seconds"])
                server.drop(f"{tag}_import")
    finally:
        for name in list(server.created):
            server.drop(name)
        server.admin.dispose()
    import_rate = statistics.median(imports)
    print()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"PostgreSQL {server.version()}, Python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"import of {args.import_rows:,} learners: {import_rate:,.0f} rows/s "
        f"(median of {len(imports)})"
    )
    print()
    print(
        "| version | batch of 1,000 (500 learners + results): median s, records/s, ÷ import "
        "| 1,000 learners: median s | "
        f"{args.phones} phones × batches of 200: median s, p99 s, errors |"
    )
    print("|---|---:|---:|---:|")
    for version in versions:
        mixed = statistics.median(alone[version]["mixed"])
        learners_only = statistics.median(alone[version]["learners"])
        print(
            f"| {version} | {mixed:.2f} s, {1000 / mixed:,.0f}/s, "
            f"{1000 / mixed / import_rate:.2f} × | {learners_only:.2f} s | "
            f"{statistics.median(crowd[version]):.2f} s, "
            f"{percentile(crowd[version], 0.99):.2f} s, {failures[version]} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
