"""The statements both paths of a completion run (the pipelined one on the event loop and the
session one), with what reads their rows back, and the session path's writes: one statement
on PostgreSQL, where a data-modifying CTE stores the row and its audit event together, two on
SQLite."""

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.deps import actor_read_with
from app.audit import service as audit
from app.catalog import service as catalog
from app.catalog.models import Course
from app.certificates.models import Certificate, CertificateStatus
from app.core.db import read_columns
from app.core.direct import Query, Rows
from app.learners import service as learners
from app.learners.models import Learner
from app.training.models import Completion


@dataclass(slots=True)
class StoredCompletion:
    """A completion row's columns, for the hot path that writes it with plain statements.

    Building an ORM object costs more than the INSERT that stores the row.
    """

    id: uuid.UUID
    learner_id: uuid.UUID
    province_code: str
    commune_code: str
    course_code: str
    completed_at: datetime
    score: float
    passed: bool
    method: str
    class_id: uuid.UUID | None
    client_id: uuid.UUID | None
    recorded_by_id: int | None
    created_at: datetime
    updated_at: datetime


class CourseRule(NamedTuple):
    """What recording a result needs of a course."""

    code: str
    pass_score: float
    active: bool


_COURSE_RULE = select(col(Course.code), col(Course.pass_score), col(Course.active)).where(
    col(Course.code) == bindparam("code")
)


def course_read(code: str) -> Query:
    return _COURSE_RULE, {"code": code}


def course_from(rows: Rows) -> CourseRule | None:
    return CourseRule(*rows[0]) if rows else None


# The course's rule as two values (NULL when there is no such course) of the course given as
# the parameter `code`, to go beside another read's columns (see `course_from_values`).
COURSE_RULE_VALUES = tuple(
    sa.select(column).where(col(Course.code) == bindparam("code")).scalar_subquery()
    for column in (col(Course.pass_score), col(Course.active))
)


def course_from_values(
    code: str, pass_score: float | None, active: bool | None
) -> CourseRule | None:
    return None if pass_score is None or active is None else CourseRule(code, pass_score, active)


STORED_COLUMNS = [column.key for column in Completion.__table__.columns]  # type: ignore[attr-defined]
if [field.name for field in fields(StoredCompletion)] != STORED_COLUMNS:
    raise RuntimeError("StoredCompletion must list the completion table's columns in order")
_TABLE = Completion.__table__  # type: ignore[attr-defined]
_INSERT_IF_NEW = sqlite.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)


# On PostgreSQL a new completion and its audit event are one statement (a data-modifying
# CTE): one round trip, atomic even in autocommit, and no event unless the row was stored.
_CREATE_AUDITED = audit.for_each_row(
    postgresql.insert(_TABLE)
    .values({key: bindparam(key, type_=_TABLE.c[key].type) for key in STORED_COLUMNS})
    .on_conflict_do_nothing()
    .returning(_TABLE.c.id)
    .cte("stored")
    .c.id
).returning(audit.TARGET_ID)


def create_write(actor: Actor, completion: StoredCompletion) -> Query:
    """Store a new completion with its audit event unless its learner and course (or its
    client_id) already have one: a row back if it was stored (PostgreSQL)."""
    values = {key: getattr(completion, key) for key in STORED_COLUMNS}
    event = completion_event(actor, "completion.create", completion)
    return _CREATE_AUDITED, values | audit.bound(event)


def insert_if_new(session: Session, actor: Actor, completion: StoredCompletion) -> bool:
    """Store a new completion unless its learner and course (or its client_id) already have one,
    with its audit event.

    One statement: a concurrent writer of the same pair makes this wait for its commit, and
    then find the row.
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(read_columns(session, *create_write(actor, completion)))
    values = {key: getattr(completion, key) for key in STORED_COLUMNS}
    if session.execute(_INSERT_IF_NEW, values).first() is None:
        return False
    audit_event(session, actor, "completion.create", completion)
    return True


_STORED = sa.select(*_TABLE.columns).where(
    col(Completion.learner_id) == bindparam("learner_id"),
    col(Completion.course_code) == bindparam("course_code"),
)
STORED_FOR_UPDATE = _STORED.with_for_update()


def stored_from(rows: Rows) -> StoredCompletion | None:
    return StoredCompletion(*rows[0]) if rows else None


_OF_LEARNER = sa.select(*_TABLE.columns).where(
    col(Completion.learner_id) == bindparam("learner_id")
)


def learner_completions_read(learner_id: uuid.UUID) -> Query:
    """Every completion of a learner, not locked."""
    return _OF_LEARNER, {"learner_id": learner_id}


def learner_completions_from(rows: Rows) -> list[StoredCompletion]:
    return [StoredCompletion(*row) for row in rows]


# Whether a completion holds the client_id given as the parameter `client_id` (false for
# none), to go beside another read's columns.
CLIENT_ID_TAKEN = sa.exists().where(col(Completion.client_id) == bindparam("client_id"))


MERGED_COLUMNS = (
    "completed_at",
    "score",
    "passed",
    "method",
    "class_id",
    "province_code",
    "commune_code",
    "recorded_by_id",
    "updated_at",
)
_NEW = {key: bindparam(f"new_{key}", type_=_TABLE.c[key].type) for key in MERGED_COLUMNS}
# Written only over a result it beats (the order of `_rank`), so a writer that read the stored
# row without a lock cannot overwrite a better one stored meanwhile.
_MERGE = (
    sa.update(_TABLE)
    .where(
        col(Completion.id) == bindparam("stored_id"),
        sa.tuple_(_NEW["passed"], _NEW["score"], _TABLE.c.completed_at)
        > sa.tuple_(_TABLE.c.passed, _TABLE.c.score, _NEW["completed_at"]),
    )
    .values(_NEW)
)
_MERGE_AUDITED = audit.for_each_row(_MERGE.returning(_TABLE.c.id).cte("merged").c.id).returning(
    audit.TARGET_ID
)


def _merge_values(completion: StoredCompletion) -> dict[str, Any]:
    values = {f"new_{key}": getattr(completion, key) for key in MERGED_COLUMNS}
    return {"stored_id": completion.id, **values}


def merge_write(actor: Actor, completion: StoredCompletion) -> Query:
    """Write a better result over the stored row, with its audit event, unless the stored one
    is at least as good by now: a row back if it was written (PostgreSQL)."""
    event = completion_event(actor, "completion.update", completion)
    return _MERGE_AUDITED, _merge_values(completion) | audit.bound(event)


def merge(session: Session, actor: Actor, completion: StoredCompletion) -> None:
    """Write the better result into the stored row (it keeps its id, client_id and creation)."""
    if session.get_bind().dialect.name == "postgresql":
        read_columns(session, *merge_write(actor, completion))
        return
    session.connection().execute(_MERGE, _merge_values(completion))
    audit_event(session, actor, "completion.update", completion)


def completion_event(actor: Actor, action: str, completion: StoredCompletion) -> dict[str, Any]:
    return audit.event(
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action=action,
        target_type="completion",
        target_id=completion.id,
        province_code=completion.province_code,
        commune_code=completion.commune_code,
        detail={
            "learner_id": str(completion.learner_id),
            "course_code": completion.course_code,
            "score": completion.score,
            "passed": completion.passed,
        },
    )


def audit_event(session: Session, actor: Actor, action: str, completion: StoredCompletion) -> None:
    audit.record_event(session, completion_event(actor, action, completion))


# The caller's account, and beside its columns the rule of the result's course, whether its
# client_id is already stored and every program's requirement: one statement.
ACCOUNT_AND_RULES = actor_read_with(
    *COURSE_RULE_VALUES, CLIENT_ID_TAKEN, catalog.REQUIREMENTS_VALUE
)

# The learner's place, with their valid certificates' programs and attainment times (a JSON
# object, NULL when none), the row locked as `rules.lock_learner` locks it (not the counting
# rules: no total changes here).
PLACE_AND_HELD = learners.PLACE.add_columns(
    sa.select(
        sa.func.json_object_agg(
            col(Certificate.program_code), col(Certificate.attained_at), type_=sa.JSON
        )
    )
    .where(
        col(Certificate.learner_id) == col(Learner.id),
        col(Certificate.status) == CertificateStatus.valid.value,
    )
    .scalar_subquery()
).with_for_update(of=Learner.__table__)  # type: ignore[attr-defined]
