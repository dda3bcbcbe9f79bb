"""How long a program edit's recount, and checking the totals, take on a loaded database.

Run it on a database that `python -m benchmarks.indicators --load-only` built (its synthetic
people hold the citizens' certificate). Each edit goes through the service, as
`PATCH /api/v1/programs/{code}` would, in a transaction of its own that is rolled back, so the
database is left as it was:

- `pupils`: the pupils' standard drops its one course of its own, so the citizens' certificate
  comes to meet it; every pupil holding that certificate is recounted;
- `citizens`: the citizens' program stops being their standard, so no certificate meets it any
  more; every holder is recounted (the largest recount the synthetic data allows).

With `--check`, it also times `hocvuso stats-rebuild --check` (every learner read again, and the
totals compared with the stored ones).
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.catalog import service as catalog
from app.catalog.models import Program, ProgramCourse
from app.catalog.schemas import ProgramUpdate
from app.core.db import make_engine, write_bind
from app.stats.rebuild import compare

PUPILS = "CHUAN-HOC-SINH"
CITIZENS = "CHUAN-NGUOI-DAN"
ACTOR = Actor(
    user_id=1,
    username="bench-admin",
    role=Role.national_admin,
    province_code=None,
    commune_code=None,
)


def _pupils_edit(session: Session) -> ProgramUpdate:
    courses = session.exec(
        select(ProgramCourse.course_code).where(ProgramCourse.program_code == PUPILS)
    ).all()
    kept = [{"course_code": c} for c in sorted(courses) if c != "HS-HOCTAPSO"]
    return ProgramUpdate.model_validate({"courses": kept})


def _citizens_edit(session: Session) -> ProgramUpdate:
    return ProgramUpdate.model_validate({"default_for": None})


EDITS: dict[str, tuple[str, Callable[[Session], ProgramUpdate]]] = {
    "pupils": (PUPILS, _pupils_edit),
    "citizens": (CITIZENS, _citizens_edit),
}


def time_edit(engine: Engine, name: str) -> dict[str, float | int]:
    code, make_edit = EDITS[name]
    with Session(write_bind(engine)) as session:
        session.info["adult_age"] = 18
        data = make_edit(session)
        program = session.get(Program, code)
        assert program is not None
        started = time.perf_counter()
        catalog.update_program(session, actor=ACTOR, program=program, data=data)
        seconds = time.perf_counter() - started
        recounted = int(str(program_detail(session, code).get("recounted_learners", 0)))
        session.rollback()
    return {"recounted": recounted, "seconds": round(seconds, 2)}


def program_detail(session: Session, code: str) -> dict[str, object]:
    detail = session.exec(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "program.update", AuditEvent.target_id == code)
        .order_by(col(AuditEvent.id).desc())
    ).first()
    return dict(detail or {})


def time_check(engine: Engine) -> dict[str, float | int]:
    with Session(engine) as session:
        session.info["adult_age"] = 18
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
    parser.add_argument("--rounds", type=int, default=1, help="runs of each edit, in turn")
    parser.add_argument("--check", action="store_true", help="also time stats-rebuild --check")
    args = parser.parse_args()
    url = (
        make_url(args.server_url)
        .set(drivername="postgresql+psycopg", database=args.database)
        .render_as_string(hide_password=False)
    )
    engine = make_engine(url)
    report: dict[str, object] = {}
    for name in args.edit or sorted(EDITS):
        runs = []
        for _ in range(args.rounds):
            runs.append(time_edit(engine, name))
            print(f"{name}: {runs[-1]}", flush=True)
        seconds = statistics.median(r["seconds"] for r in runs)
        recounted = runs[0]["recounted"]
        report[name] = {
            "recounted": recounted,
            "seconds": [r["seconds"] for r in runs],
            "per_second": round(recounted / seconds) if seconds else None,
        }
    if args.check:
        report["check"] = time_check(engine)
        print(f"check: {report['check']}", flush=True)
    engine.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
