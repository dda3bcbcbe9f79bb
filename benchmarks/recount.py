"""How long a program edit's recount takes on a loaded database, and what writes wait meanwhile.

Run it on a database that `python -m benchmarks.indicators --load-only` built (its synthetic
people hold the citizens' certificate). Each edit goes through the service, as
`PATCH /api/v1/programs/{code}` would, and is committed; its recount then runs to the end, a
batch per transaction, as the service's background task runs it; then the edit is undone the
same way, so the database is left as it was:

- `pupils`: the pupils' standard drops its one course of its own, so the citizens' certificate
  comes to meet it; every pupil holding that certificate is recounted;
- `citizens`: the citizens' program stops being their standard, so no certificate meets it any
  more; every holder is recounted (the largest recount the synthetic data allows).

Meanwhile a probe does what every write that changes a person's counted records does first
(the learner's lock, taken with the counting rules' lock, and the rules read), a few times a
second, and the time it waits is reported next to the same probe on the idle database.

With `--check`, it also times `hocvuso stats-rebuild --check` (every learner read again, and the
totals compared with the stored ones).
"""

import argparse
import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.catalog import service as catalog
from app.catalog.models import Program, ProgramCourse
from app.catalog.schemas import ProgramUpdate
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine, write_bind
from app.learners.models import Learner
from app.ledger import rules
from app.ledger.models import RulesRecount
from app.ledger.rebuild import compare
from app.ledger.recount import run_to_end

PUPILS = "CHUAN-HOC-SINH"
CITIZENS = "CHUAN-NGUOI-DAN"
ACTOR = Actor(
    user_id=1,
    username="bench-admin",
    role=Role.national_admin,
    province_code=None,
    commune_code=None,
)
ADULT_AGE = 18


def _courses(session: Session, code: str) -> list[dict[str, str]]:
    courses = session.exec(
        select(ProgramCourse.course_code).where(ProgramCourse.program_code == code)
    ).all()
    return [{"course_code": c} for c in sorted(courses)]


def _pupils_edit(session: Session) -> tuple[ProgramUpdate, ProgramUpdate]:
    courses = _courses(session, PUPILS)
    kept = [c for c in courses if c["course_code"] != "HS-HOCTAPSO"]
    return (
        ProgramUpdate.model_validate({"courses": kept}),
        ProgramUpdate.model_validate({"courses": courses}),
    )


def _citizens_edit(session: Session) -> tuple[ProgramUpdate, ProgramUpdate]:
    return (
        ProgramUpdate.model_validate({"default_for": None}),
        ProgramUpdate.model_validate({"default_for": "citizen"}),
    )


EDITS: dict[str, tuple[str, Callable[[Session], tuple[ProgramUpdate, ProgramUpdate]]]] = {
    "pupils": (PUPILS, _pupils_edit),
    "citizens": (CITIZENS, _citizens_edit),
}


class Probe:
    """Times, a few times a second, what a counted write does before its own work."""

    def __init__(self, engine: Engine, ids: list[uuid.UUID]) -> None:
        self.engine, self.ids = engine, ids
        self.waits: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._rng = random.Random(7)  # noqa: S311

    def _once(self) -> None:
        with Session(write_bind(self.engine)) as session:
            bind_context(session, WriteContext(ADULT_AGE))
            learner = session.get(Learner, self._rng.choice(self.ids))
            assert learner is not None
            started = time.perf_counter()
            rules.lock_learner(session, learner)
            rules.rules_for(session, learner.id)
            self.waits.append((time.perf_counter() - started) * 1000)
            session.rollback()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._once()
            self._stop.wait(0.2)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float | int]:
        waits = sorted(self.waits)
        return {
            "probes": len(waits),
            "p50_ms": round(statistics.median(waits), 2),
            "p95_ms": round(waits[int(0.95 * (len(waits) - 1))], 2),
            "max_ms": round(waits[-1], 2),
        }


def _apply(engine: Engine, code: str, data: ProgramUpdate) -> float:
    with Session(write_bind(engine)) as session:
        bind_context(session, WriteContext(ADULT_AGE))
        program = session.get(Program, code)
        assert program is not None
        started = time.perf_counter()
        catalog.update_program(session, actor=ACTOR, program=program, data=data)
        session.commit()
        return time.perf_counter() - started


def time_edit(engine: Engine, name: str, ids: list[uuid.UUID]) -> dict[str, object]:
    """The edit and its recount, then the same for undoing it."""
    code, make_edits = EDITS[name]
    with Session(engine) as session:
        forward, back = make_edits(session)
    report: dict[str, object] = {}
    for step, data in (("edit", forward), ("undo", back)):
        answered = _apply(engine, code, data)
        with Probe(engine, ids) as probe:
            started = time.perf_counter()
            recount = run_to_end(engine, adult_age=ADULT_AGE)
            seconds = time.perf_counter() - started
        recounted = recount.recounted if isinstance(recount, RulesRecount) else 0
        report[step] = {
            "edit_answered_s": round(answered, 2),
            "recount_s": round(seconds, 1),
            "recounted": recounted,
            "per_second": round(recounted / seconds) if seconds else None,
            "write_wait": probe.summary(),
        }
        print(f"{name} {step}: {report[step]}", flush=True)
    return report


def time_check(engine: Engine) -> dict[str, float | int]:
    with Session(engine) as session:
        bind_context(session, WriteContext(18))
        started = time.perf_counter()
        comparison = compare(session)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "rows": comparison.expected_rows,
        "differences": len(comparison.differences),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="hocvuso_bench")
    parser.add_argument("--edit", choices=sorted(EDITS), action="append")
    parser.add_argument("--check", action="store_true", help="also time stats-rebuild --check")
    args = parser.parse_args()
    url = (
        make_url(args.server_url)
        .set(drivername="postgresql+psycopg", database=args.database)
        .render_as_string(hide_password=False)
    )
    engine = make_engine(url)
    with Session(engine) as session:
        ids = list(session.exec(select(Learner.id).limit(5000)).all())
    # What the probe waits on the idle database, for comparison.
    with Probe(engine, ids) as idle:
        time.sleep(10)
    report: dict[str, object] = {"idle_write_wait": idle.summary()}
    print(f"idle: {report['idle_write_wait']}", flush=True)
    for name in args.edit or sorted(EDITS):
        report[name] = time_edit(engine, name, ids)
    if args.check:
        report["check"] = time_check(engine)
        print(f"check: {report['check']}", flush=True)
    engine.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
