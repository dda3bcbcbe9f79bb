"""Completions (one row per learner and course, holding the best result), classes, attendance."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role, Team
from app.audit import service as audit
from app.certificates.issuance import issue_attained
from app.core.clock import local_date, vietnam_today
from app.core.db import read_columns, utcnow
from app.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    field_error,
    invalid_field,
)
from app.core.pagination import paginate
from app.learners import service as learners
from app.learners.models import Learner
from app.ledger import rules
from app.training import queries
from app.training.models import Completion, Method, TrainingClass
from app.training.queries import CourseRule, StoredCompletion
from app.training.schemas import (
    AttendanceCreate,
    ClassCreate,
    CompletionCorrection,
    CompletionCreate,
    moment_of_day,
)
from app.units.models import Commune, Village

# Phones' clocks drift; a completion a few minutes "ahead" of the server is not in the future.
CLOCK_SKEW = timedelta(minutes=5)

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Recorded:
    completion: "Completion | StoredCompletion"
    outcome: Outcome

    @property
    def may_issue(self) -> bool:
        """Whether the result may complete a program: it was stored, and it passed."""
        return self.outcome != "unchanged" and self.completion.passed


@dataclass(frozen=True)
class AttendanceOutcome:
    learner_id: uuid.UUID
    recorded: Recorded | None
    problem: DomainError | None


def _rank(passed: bool, score: float, completed_at: datetime) -> tuple[bool, float, float]:
    """Orders results: passed beats failed, then the higher score, then the earlier time."""
    return passed, score, -completed_at.timestamp()


def course_rule(session: Session, code: str) -> CourseRule | None:
    return queries.course_from(read_columns(session, *queries.course_read(code)))


def _course_problems(course: CourseRule | None, field: str = "course_code") -> list[dict[str, Any]]:
    if course is None:
        return [field_error(field, "course.unknown")]
    if not course.active:
        return [field_error(field, "course.inactive")]
    return []


def _by_client_id(session: Session, client_id: uuid.UUID) -> Completion | None:
    return session.exec(
        select(Completion)
        .where(Completion.client_id == client_id)
        .execution_options(populate_existing=True)
    ).first()


def _for_learner_course(
    session: Session, learner_id: uuid.UUID, course_code: str
) -> StoredCompletion | None:
    """The stored row's columns; a better result is written over them by `_merge`."""
    # Locked, so two writers merging into the same row take turns (PostgreSQL; SQLite
    # serialises writers anyway).
    return queries.stored_from(
        read_columns(
            session,
            queries.STORED_FOR_UPDATE,
            {"learner_id": learner_id, "course_code": course_code},
        )
    )


def _resent(earlier: Completion, data: CompletionCreate) -> Recorded:
    """A record sent again with its client_id: the stored completion, unchanged."""
    if earlier.learner_id != data.learner_id or earlier.course_code != data.course_code:
        raise Conflict("completion.client_reused")
    return Recorded(earlier, "unchanged")


def record_completion(
    session: Session, *, actor: Actor, data: CompletionCreate, now: datetime | None = None
) -> Recorded:
    """Record a learner's result in a course; one row per learner and course keeps the best.

    A passing result that completes a program issues its certificate in the same transaction.
    The learner is locked before any of their completions is read or written (as on the fast
    path), so that of two results recorded at once the second sees the first.
    """
    learner = learners.place_in_scope(
        session, actor=actor, learner_id=data.learner_id, action="completion.create"
    )
    rules.lock_learner(session, learner.id)
    recorded = _store_completion(session, actor=actor, learner=learner, data=data, now=now)
    if recorded.may_issue:
        issue_attained(
            session, learner_id=learner.id, actor_id=actor.audit_id, actor_role=actor.role, now=now
        )
    return recorded


def _store_completion(
    session: Session,
    *,
    actor: Actor,
    learner: learners.LearnerPlace,
    data: CompletionCreate,
    now: datetime | None,
) -> Recorded:
    if data.client_id is not None:
        earlier = _by_client_id(session, data.client_id)
        if earlier is not None:
            return _resent(earlier, data)
    now = now or utcnow()
    course = course_rule(session, data.course_code)
    errors = _problems(course, data, now, learner)
    if data.class_id is not None:
        training_class = session.get(TrainingClass, data.class_id)
        if (
            training_class is None
            or training_class.commune_code != learner.commune_code
            or training_class.course_code != data.course_code
        ):
            errors.append(field_error("class_id", "completion.class_mismatch"))
    completion = candidate(actor, learner, course, data, now, errors)
    existing = None
    while existing is None:
        if queries.insert_if_new(session, actor, completion):
            return Recorded(completion, "created")
        # The pair was stored first by someone else, or this client_id was.
        if data.client_id is not None:
            earlier = _by_client_id(session, data.client_id)
            if earlier is not None:
                return _resent(earlier, data)
        # None only if the row in the way was removed meanwhile: then try again.
        existing = _for_learner_course(session, learner.id, completion.course_code)

    recorded = decide(existing, completion)
    if recorded.outcome == "updated":
        assert isinstance(recorded.completion, StoredCompletion)
        queries.merge(session, actor, recorded.completion)
    return recorded


def _problems(
    course: CourseRule | None,
    data: CompletionCreate,
    now: datetime,
    learner: learners.LearnerPlace,
) -> list[Any]:
    """What is wrong with a result, short of its class (which needs a read of its own)."""
    errors = _course_problems(course)
    if data.completed_at > now + CLOCK_SKEW:
        errors.append(field_error("completed_at", "completion.future"))
    born = learner.birth_date
    if born is not None and local_date(data.completed_at) < born:
        errors.append(field_error("completed_at", "completion.before_birth"))
    return errors


def candidate(
    actor: Actor,
    learner: learners.LearnerPlace,
    course: CourseRule | None,
    data: CompletionCreate,
    now: datetime,
    errors: list[Any] | None = None,
) -> StoredCompletion:
    """The completion a result would store; 422 with every problem found in it."""
    errors = _problems(course, data, now, learner) if errors is None else errors
    if errors:
        raise Invalid("validation.detail", errors=errors)
    assert course is not None
    return StoredCompletion(
        id=uuid.uuid4(),
        learner_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
        course_code=course.code,
        completed_at=data.completed_at.astimezone(UTC),
        score=data.score,
        passed=data.score >= course.pass_score,
        method=data.method.value,
        class_id=data.class_id,
        client_id=data.client_id,
        recorded_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )


def decide(existing: StoredCompletion | None, new: StoredCompletion) -> Recorded:
    """What a valid result does, on either path: stored as the learner's first in its course
    (created), written over a worse stored one (updated), or left for a better one
    (unchanged). Whether it then issues a certificate is `Recorded.may_issue`."""
    if existing is None:
        return Recorded(new, "created")
    better = improved(existing, new)
    if better is None:
        return Recorded(existing, "unchanged")
    return Recorded(better, "updated")


def improved(existing: StoredCompletion, new: StoredCompletion) -> StoredCompletion | None:
    """The stored row with the new result written over it, if the new one is better; else None.

    The row keeps its id, the client_id it was created with, and its creation time.
    """
    if _rank(new.passed, new.score, new.completed_at) <= _rank(
        existing.passed, existing.score, existing.completed_at
    ):
        return None
    return replace(existing, **{key: getattr(new, key) for key in queries.MERGED_COLUMNS})


CORRECTORS = (Role.national_admin, Role.province_admin, Role.commune_admin)


def get_completion_in_scope(
    session: Session, *, actor: Actor, completion_id: uuid.UUID, action: str
) -> Completion:
    """The completion if it lies in the caller's scope and its learner was not erased; else
    404."""
    completion = session.get(Completion, completion_id)
    learner = session.get(Learner, completion.learner_id) if completion is not None else None
    if completion is None or learner is None or learner.erased_at is not None:
        raise NotFound("what.completion")
    actor.require_in_scope(
        completion.province_code,
        completion.commune_code,
        what="what.completion",
        action=action,
        target=completion_id,
    )
    return completion


def _locked(session: Session, completion: Completion) -> Completion:
    """The completion read again under its learner's lock (404 if it went meanwhile)."""
    rules.lock_learner(session, completion.learner_id)
    current = session.get(Completion, completion.id, populate_existing=True)
    if current is None:
        raise NotFound("what.completion")
    return current


def _values(completion: Completion) -> dict[str, Any]:
    return {
        "score": completion.score,
        "passed": completion.passed,
        "completed_at": completion.completed_at.isoformat(),
    }


def _correction_event(
    session: Session, actor: Actor, action: str, completion: Completion, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action=action,
        target_type="completion",
        target_id=completion.id,
        province_code=completion.province_code,
        commune_code=completion.commune_code,
        detail={"learner_id": str(completion.learner_id), "course_code": completion.course_code}
        | detail,
    )


def correct_completion(
    session: Session,
    *,
    actor: Actor,
    completion: Completion,
    data: CompletionCorrection,
    now: datetime | None = None,
) -> Completion:
    """Set a wrongly entered result right (commune admins and up, with a reason, audited).

    Unlike a new result, a correction replaces the stored one even if it is worse. What the
    result earned follows: a certificate it no longer earns is revoked with the reason, one
    still earned is dated by the results as they now stand, and one it now earns is issued.
    """
    actor.require(*CORRECTORS, action="completion.correct")
    if data.score is None and data.completed_at is None:
        raise invalid_field("score", "completion.correction_empty")
    now = now or utcnow()
    completion = _locked(session, completion)
    course = course_rule(session, completion.course_code)
    assert course is not None
    if data.completed_at is not None and data.completed_at > now + CLOCK_SKEW:
        raise invalid_field("completed_at", "completion.future")
    before = _values(completion)
    if data.score is not None:
        completion.score = data.score
        completion.passed = data.score >= course.pass_score
    if data.completed_at is not None:
        completion.completed_at = data.completed_at.astimezone(UTC)
    completion.updated_at = now
    session.add(completion)
    session.flush()
    _correction_event(
        session,
        actor,
        "completion.correct",
        completion,
        {"reason": data.reason, "before": before, "after": _values(completion)},
    )
    issue_attained(
        session,
        learner_id=completion.learner_id,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        now=now,
        correction=data.reason,
        revoked_by_id=actor.user_id,
    )
    return completion


def withdraw_completion(
    session: Session,
    *,
    actor: Actor,
    completion: Completion,
    reason: str,
    now: datetime | None = None,
) -> Completion:
    """Withdraw a result entered wrongly (commune admins and up, with a reason): the row goes,
    its values stay in the audit trail, and a certificate it alone earned is revoked."""
    actor.require(*CORRECTORS, action="completion.withdraw")
    completion = _locked(session, completion)
    _correction_event(
        session,
        actor,
        "completion.withdraw",
        completion,
        {"reason": reason, "before": _values(completion)},
    )
    session.delete(completion)
    session.flush()
    issue_attained(
        session,
        learner_id=completion.learner_id,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        now=now,
        correction=reason,
        revoked_by_id=actor.user_id,
    )
    return completion


def list_completions(
    session: Session, *, actor: Actor, learner: Learner, cursor: str | None, limit: int
) -> tuple[Sequence[Completion], str | None]:
    """A learner's completions by course code; the read is audited."""
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="completion.read",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
    )
    statement = select(Completion).where(Completion.learner_id == learner.id)
    return paginate(
        session,
        statement,
        key_column=col(Completion.course_code),
        key_of=lambda completion: completion.course_code,
        cursor=cursor,
        limit=limit,
    )


def create_class(session: Session, *, actor: Actor, data: ClassCreate) -> TrainingClass:
    """Record a class a team held in a commune on a date for a course."""
    commune_code = data.commune_code or actor.commune_code
    if commune_code is None:
        raise invalid_field("commune_code", "class.commune_required")
    commune = session.get(Commune, commune_code)
    if commune is None:
        raise invalid_field("commune_code", "commune.unknown")
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="class.create"
    )
    errors = _course_problems(course_rule(session, data.course_code))
    if data.held_on > vietnam_today():
        errors.append(field_error("held_on", "class.future"))
    if data.village_id is not None:
        village = session.get(Village, data.village_id)
        if village is None or village.commune_code != commune.code:
            errors.append(field_error("village_id", "village.other_commune"))
    team_id = data.team_id
    if team_id is None and actor.team_id is not None and actor.commune_code == commune.code:
        team_id = actor.team_id
    elif team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.commune_code != commune.code:
            errors.append(field_error("team_id", "team.other_commune"))
    if errors:
        raise Invalid("validation.detail", errors=errors)
    training_class = TrainingClass(
        province_code=commune.province_code,
        commune_code=commune.code,
        village_id=data.village_id,
        course_code=data.course_code,
        held_on=data.held_on,
        team_id=team_id,
        note=data.note or None,
        created_by_id=actor.user_id,
    )
    session.add(training_class)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="class.create",
        target_type="class",
        target_id=training_class.id,
        province_code=training_class.province_code,
        commune_code=training_class.commune_code,
        detail={"course_code": training_class.course_code},
    )
    return training_class


def get_class_in_scope(
    session: Session, *, actor: Actor, class_id: uuid.UUID, action: str
) -> TrainingClass:
    """The class if it lies in the caller's scope; else 404."""
    training_class = session.get(TrainingClass, class_id)
    if training_class is None:
        raise NotFound("what.class")
    actor.require_in_scope(
        training_class.province_code,
        training_class.commune_code,
        what="what.class",
        action=action,
        target=class_id,
    )
    return training_class


def record_attendance(
    session: Session, *, actor: Actor, training_class: TrainingClass, data: AttendanceCreate
) -> list[AttendanceOutcome]:
    """Record the scores of a class's attendees, each on its own.

    A record that cannot be stored (unknown learner, outside the caller's scope or the class's
    commune) is rejected with its problem; the others are stored. Every stored record goes
    through `record_completion`, so a learner keeps their best result.
    """
    first_seen: dict[uuid.UUID, int] = {}
    duplicates = []
    for index, record in enumerate(data.records):
        if record.learner_id in first_seen:
            loc = ["body", "records", index, "learner_id"]
            duplicates.append({"loc": loc, "type": "attendance.duplicate_learner", "params": {}})
        first_seen.setdefault(record.learner_id, index)
    if duplicates:
        raise Invalid("validation.detail", errors=duplicates)

    completed_at = moment_of_day(training_class.held_on)
    outcomes = []
    for record in data.records:
        try:
            with session.begin_nested():
                recorded = _attend(
                    session, actor, training_class, record.learner_id, record.score, completed_at
                )
            outcomes.append(AttendanceOutcome(record.learner_id, recorded, None))
        except DomainError as problem:
            if problem.audit_action:
                _record_denial(session, actor, problem, record.learner_id)
            outcomes.append(AttendanceOutcome(record.learner_id, None, problem))
    counts = {"rejected": 0, "created": 0, "updated": 0, "unchanged": 0}
    for outcome in outcomes:
        counts[outcome.recorded.outcome if outcome.recorded else "rejected"] += 1
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="class.attendance",
        target_type="class",
        target_id=training_class.id,
        province_code=training_class.province_code,
        commune_code=training_class.commune_code,
        detail=counts,
    )
    return outcomes


def _attend(
    session: Session,
    actor: Actor,
    training_class: TrainingClass,
    learner_id: uuid.UUID,
    score: float,
    completed_at: datetime,
) -> Recorded:
    learner = learners.place_in_scope(
        session, actor=actor, learner_id=learner_id, action="completion.create"
    )
    if learner.commune_code != training_class.commune_code:
        raise invalid_field("learner_id", "class.learner_commune")
    data = CompletionCreate(
        learner_id=learner_id,
        course_code=training_class.course_code,
        completed_at=completed_at,
        score=score,
        method=Method.class_,
        class_id=training_class.id,
    )
    return record_completion(session, actor=actor, data=data)


def _record_denial(
    session: Session, actor: Actor, problem: DomainError, learner_id: uuid.UUID
) -> None:
    # The request itself succeeds, so the refused record is audited in its transaction.
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action=problem.audit_action or "completion.create",
        outcome="denied",
        target_type="learner",
        target_id=learner_id,
        commune_code=problem.audit_commune,
        detail={"status": problem.status},
    )
