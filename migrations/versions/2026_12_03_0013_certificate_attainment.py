"""certificate attainment dates, reinstatement, and a new certificate after a revocation

A certificate is dated in the indicators by when its holder met the standard
(`attained_at`), its recording time (`issued_at`) kept beside it. Existing certificates are
dated by their required results as stored: the latest completion of the program's required
courses, or the issue time where that is earlier (a better result recorded after the issue
replaced the one that earned it) or where no required result is left. That is the day the
work was done, which is what the change is for; the issue time would keep every late entry
in the wrong month. The running totals of the people whose certificates move are worked out
again in the same transaction, so they stay equal to a count from the raw records. Only
valid certificates are unique per learner and program, so that one who meets a standard
again after a revocation gets a new one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00.000000
"""

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op
from sqlmodel import Session

import app.core.types
from app.core.clock import local_date
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.ledger import rules, totals
from app.ledger.contributions import contributions

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID = sa.text("status = 'valid'")
BATCH = 2_000

_certificate = sa.table(
    "certificate",
    sa.column("id", sa.Uuid()),
    sa.column("learner_id", sa.Uuid()),
    sa.column("program_code", sa.String()),
    sa.column("issued_at", app.core.types.UTCDateTime()),
    sa.column("attained_at", app.core.types.UTCDateTime()),
    sa.column("status", sa.String()),
)
_program_course = sa.table(
    "program_course", sa.column("program_code", sa.String()), sa.column("course_code", sa.String())
)
_completion = sa.table(
    "completion",
    sa.column("learner_id", sa.Uuid()),
    sa.column("course_code", sa.String()),
    sa.column("completed_at", app.core.types.UTCDateTime()),
    sa.column("passed", sa.Boolean()),
)
_LAST_REQUIRED = (
    sa.select(
        _certificate.c.id,
        _certificate.c.learner_id,
        _certificate.c.issued_at,
        sa.func.max(_completion.c.completed_at),
    )
    .select_from(_certificate)
    .join(_program_course, _program_course.c.program_code == _certificate.c.program_code)
    .join(
        _completion,
        sa.and_(
            _completion.c.learner_id == _certificate.c.learner_id,
            _completion.c.course_code == _program_course.c.course_code,
            _completion.c.passed,
        ),
    )
    .group_by(_certificate.c.id, _certificate.c.learner_id, _certificate.c.issued_at)
)
_SET_ATTAINED = (
    sa.update(_certificate)
    .where(_certificate.c.id == sa.bindparam("certificate_id"))
    .values(attained_at=sa.bindparam("attained"))
)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _recounting(session: Session, learners: list[uuid.UUID], change: Callable[[], None]) -> None:
    """Make `change` to these learners' certificates, and add to the running totals what it
    moves, each person counted by the rules they are counted by."""
    age = totals.adult_age(session)

    def rows() -> Counter[totals.RowKey]:
        counted: Counter[totals.RowKey] = Counter()
        for start in range(0, len(learners), BATCH):
            people = totals.counted_people(session, learners[start : start + BATCH])
            for learner_id, person, certificates, units in people:
                satisfying = rules.rules_for(session, learner_id)
                own = contributions(person, certificates, satisfying=satisfying, adult_age=age)
                counted.update(totals.spread(own, units))
        return counted

    before = rows()
    change()
    after = rows()
    after.subtract(before)
    totals.apply(session, {key: value for key, value in after.items() if value})
    session.flush()


def _session() -> Session:
    session = Session(bind=op.get_bind())
    age = context.config.attributes.get("adult_age") or Settings().adult_age
    return bind_context(session, WriteContext(age))


def upgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attained_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reinstated_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE certificate SET attained_at = issued_at")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.alter_column(
            "attained_at",
            existing_type=app.core.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.drop_constraint("uq_certificate_learner_id_program_code", type_="unique")
        batch_op.create_index(
            "uq_certificate_valid_learner_program",
            ["learner_id", "program_code"],
            unique=True,
            sqlite_where=VALID,
            postgresql_where=VALID,
        )
    session = _session()
    moved: list[dict[str, object]] = []
    learners: set[uuid.UUID] = set()
    for certificate_id, learner_id, issued_at, last_result in session.execute(_LAST_REQUIRED):
        attained = min(_aware(issued_at), _aware(last_result))
        if local_date(attained) != local_date(issued_at):
            moved.append({"certificate_id": certificate_id, "attained": attained})
            learners.add(learner_id)

    def change() -> None:
        session.execute(_SET_ATTAINED, moved)

    if moved:
        _recounting(session, sorted(learners), change)


def downgrade() -> None:
    session = _session()
    # The older schema counts a certificate from its issue, and keeps one per learner and
    # program: where there are several, the valid (or newest) one stays.
    newer = _certificate.alias("newer")
    superseded = sa.select(_certificate.c.id, _certificate.c.learner_id).where(
        _certificate.c.status == "revoked",
        sa.exists().where(
            newer.c.learner_id == _certificate.c.learner_id,
            newer.c.program_code == _certificate.c.program_code,
            sa.or_(newer.c.status == "valid", newer.c.issued_at > _certificate.c.issued_at),
        ),
    )
    gone = [(row[0], row[1]) for row in session.execute(superseded)]
    redated = sa.select(_certificate.c.learner_id).where(
        _certificate.c.attained_at != _certificate.c.issued_at
    )
    learners = {row[0] for row in session.execute(redated)} | {learner for _, learner in gone}

    def change() -> None:
        if gone:
            session.execute(
                sa.delete(_certificate).where(
                    _certificate.c.id.in_(sa.bindparam("ids", expanding=True))
                ),
                {"ids": [certificate_id for certificate_id, _ in gone]},
            )
        session.execute(sa.update(_certificate).values(attained_at=_certificate.c.issued_at))

    if learners:
        _recounting(session, sorted(learners), change)
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index("uq_certificate_valid_learner_program")
        batch_op.create_unique_constraint(
            "uq_certificate_learner_id_program_code", ["learner_id", "program_code"]
        )
        batch_op.drop_column("reinstated_at")
        batch_op.drop_column("attained_at")
