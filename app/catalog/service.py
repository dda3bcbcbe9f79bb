"""The catalogue: courses and programs, read by all staff and written by national admins.

Service functions take `actor=None` only when the system itself writes (the seed).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import String, cast
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.catalog.models import Course, Program, ProgramCourse
from app.catalog.schemas import (
    CourseCreate,
    CoursePublic,
    CourseUpdate,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
    RequiredCourse,
    RequiredCoursePublic,
)
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound, invalid_field
from app.core.pagination import paginate
from app.learners.models import Group
from app.ledger.models import RulesRecount
from app.ledger.recount import moves_anyone, recount_step, schedule_recount, undo_pending
from app.ledger.rules import (
    Rules,
    forget_counting_rules,
    hold_counting_rules,
    pending_recount,
    satisfying_programs,
)


def _authorize(actor: Actor | None, action: str) -> None:
    if actor is not None:
        actor.require(Role.national_admin, action=action)


def _audit(
    session: Session,
    actor: Actor | None,
    *,
    action: str,
    target_type: str,
    target_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor_id=actor.audit_id if actor else audit.SYSTEM_ACTOR_ID,
        actor_role=actor.role if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
    )


# Courses


def to_course_public(course: Course) -> CoursePublic:
    return CoursePublic.model_validate(course)


def list_courses(
    session: Session,
    *,
    active: bool | None,
    audience: Group | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Course], str | None]:
    """Courses by code, optionally only active ones or those meant for a group."""
    statement = select(Course)
    if active is not None:
        statement = statement.where(Course.active == active)
    if audience is not None:
        # The audience is a small JSON list of group names; its quoted text is portable to match.
        audience_text = cast(col(Course.audience), String)
        statement = statement.where(audience_text.contains(f'"{audience.value}"'))
    return paginate(
        session,
        statement,
        key_column=col(Course.code),
        key_of=lambda course: course.code,
        cursor=cursor,
        limit=limit,
    )


def get_course(session: Session, code: str) -> Course:
    """The course with this code; 404 when there is none."""
    course = session.get(Course, code)
    if course is None:
        raise NotFound("what.course")
    return course


def create_course(session: Session, *, actor: Actor | None, data: CourseCreate) -> Course:
    """Add a course to the catalogue; a code already taken answers 409."""
    _authorize(actor, "course.create")
    if session.get(Course, data.code) is not None:
        raise Conflict("course.duplicate")
    now = utcnow()
    course = Course(
        code=data.code,
        title_vi=data.title_vi,
        title_en=data.title_en,
        domain=data.domain.value,
        hours=data.hours,
        pass_score=data.pass_score,
        audience=[g.value for g in data.audience],
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(course)
            session.flush()
    except IntegrityError:
        raise Conflict("course.duplicate") from None
    _audit(session, actor, action="course.create", target_type="course", target_id=course.code)
    return course


def update_course(session: Session, *, actor: Actor, course: Course, data: CourseUpdate) -> Course:
    """Change a course; completions already recorded keep the result they were given."""
    _authorize(actor, "course.update")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if name == "audience":
            value = [Group(g).value for g in value]
        elif name == "domain":
            value = str(value)
        setattr(course, name, value)
    course.updated_at = utcnow()
    session.add(course)
    session.flush()
    _audit(
        session,
        actor,
        action="course.update",
        target_type="course",
        target_id=course.code,
        detail={"fields": sorted(changes)},
    )
    return course


# Programs


def program_public(session: Session, programs: Sequence[Program]) -> list[ProgramPublic]:
    """Programs with their required courses, loaded in one query."""
    codes = [p.code for p in programs]
    required: dict[str, list[RequiredCoursePublic]] = {code: [] for code in codes}
    if codes:
        rows = session.exec(
            select(ProgramCourse)
            .where(col(ProgramCourse.program_code).in_(codes))
            .order_by(col(ProgramCourse.program_code), col(ProgramCourse.course_code))
        ).all()
        for row in rows:
            required[row.program_code].append(
                RequiredCoursePublic(course_code=row.course_code, pass_score=row.pass_score)
            )
    return [
        ProgramPublic(
            code=p.code,
            title_vi=p.title_vi,
            title_en=p.title_en,
            default_for=Group(p.default_for) if p.default_for else None,
            active=p.active,
            courses=required[p.code],
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in programs
    ]


def list_programs(
    session: Session, *, active: bool | None, cursor: str | None, limit: int
) -> tuple[Sequence[Program], str | None]:
    """Programs by code, optionally only active ones."""
    statement = select(Program)
    if active is not None:
        statement = statement.where(Program.active == active)
    return paginate(
        session,
        statement,
        key_column=col(Program.code),
        key_of=lambda program: program.code,
        cursor=cursor,
        limit=limit,
    )


def get_program(session: Session, code: str) -> Program:
    """The program with this code; 404 when there is none."""
    program = session.get(Program, code)
    if program is None:
        raise NotFound("what.program")
    return program


def default_program_code(session: Session, group: Group) -> str | None:
    """The code of the group's default program, if one is set."""
    return session.exec(select(Program.code).where(Program.default_for == group.value)).first()


def _resolve_required(session: Session, items: Sequence[RequiredCourse]) -> dict[str, float]:
    """Course code -> pass score for a program, checking every course exists."""
    if not items:
        raise invalid_field("courses", "program.empty")
    codes = [item.course_code for item in items]
    courses = {c.code: c for c in session.exec(select(Course).where(col(Course.code).in_(codes)))}
    errors: list[dict[str, Any]] = []
    resolved: dict[str, float] = {}
    for index, item in enumerate(items):
        loc = ["body", "courses", index, "course_code"]
        course = courses.get(item.course_code)
        if item.course_code in resolved:
            errors.append({"loc": loc, "type": "program.duplicate_course", "params": {}})
        elif course is None:
            errors.append({"loc": loc, "type": "course.unknown", "params": {}})
        else:
            score = item.pass_score if item.pass_score is not None else course.pass_score
            resolved[item.course_code] = score
    if errors:
        raise Invalid("validation.detail", errors=errors)
    return resolved


def _check_default_free(session: Session, group: Group | None, program_code: str) -> None:
    if group is None:
        return
    holder = default_program_code(session, group)
    if holder is not None and holder != program_code:
        raise Conflict("program.default_taken", extra={"default_program": holder})


def _store_program(
    session: Session, program: Program, required: dict[str, float] | None, *, creating: bool
) -> None:
    """Flush the program and its required courses, turning a lost race into a 409."""
    session.info.pop(REQUIREMENTS_KEY, None)
    session.info.pop(PROGRAMS_KEY, None)
    try:
        with session.begin_nested():
            session.add(program)
            session.flush()
            if required is not None:
                _replace_required(session, program.code, required)
    except IntegrityError:
        if creating and session.get(Program, program.code) is not None:
            raise Conflict("program.duplicate") from None
        raise Conflict("program.default_taken") from None


def _recount(
    session: Session,
    rules: Rules,
    detail: dict[str, Any],
    *,
    program_code: str,
    actor: Actor | None,
) -> None:
    """Keep the indicators right when a program's courses or default group change which
    certificates meet a group's standard, and say so in the audit event.

    The edit recounts the first batch of the people it moves itself, so a change that moves
    few (most, outside a national catalogue's core standards) is counted before it answers;
    the rest are recounted after it, a batch at a time (`app.ledger.recount`). One such change
    at a time: another while the last is still being recounted is refused, unless it undoes
    that one (a mistaken edit can be taken back at once).
    """
    actor_id = actor.user_id if actor else None
    pending = pending_recount(session)
    forget_counting_rules(session)
    after = satisfying_programs(session)
    if not moves_anyone(rules, after):
        return
    if pending is None:
        recount: RulesRecount | None = schedule_recount(
            session, rules, after, program_code=program_code, requested_by=actor_id
        )
    elif after == pending.before and pending.stop_at is None:
        # Undoing the change still being recounted: those it reached are moved back.
        detail["undoes_recount"] = pending.id
        recount = undo_pending(
            session, pending, rules, program_code=program_code, requested_by=actor_id
        )
    else:
        raise Conflict("program.recount_pending", headers={"Retry-After": "60"})
    if recount is None:
        return
    detail["recount_id"] = recount.id
    recount_step(session)
    if recount.finished_at is not None:
        detail["recounted_learners"] = recount.recounted


def _replace_required(session: Session, program_code: str, required: dict[str, float]) -> None:
    existing = session.exec(
        select(ProgramCourse).where(ProgramCourse.program_code == program_code)
    ).all()
    kept = set()
    for row in existing:
        if row.course_code not in required:
            session.delete(row)
            continue
        kept.add(row.course_code)
        if row.pass_score != required[row.course_code]:
            row.pass_score = required[row.course_code]
            session.add(row)
    for course_code, pass_score in required.items():
        if course_code not in kept:
            session.add(
                ProgramCourse(
                    program_code=program_code, course_code=course_code, pass_score=pass_score
                )
            )
    session.flush()


def create_program(session: Session, *, actor: Actor | None, data: ProgramCreate) -> Program:
    """Add a program: a named set of required courses with their pass scores."""
    _authorize(actor, "program.create")
    rules = hold_counting_rules(session)
    if session.get(Program, data.code) is not None:
        raise Conflict("program.duplicate")
    required = _resolve_required(session, data.courses)
    _check_default_free(session, data.default_for, data.code)
    now = utcnow()
    program = Program(
        code=data.code,
        title_vi=data.title_vi,
        title_en=data.title_en,
        default_for=data.default_for.value if data.default_for else None,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    _store_program(session, program, required, creating=True)
    detail: dict[str, Any] = {"courses": sorted(required)}
    _recount(session, rules, detail, program_code=program.code, actor=actor)
    _audit(
        session,
        actor,
        action="program.create",
        target_type="program",
        target_id=program.code,
        detail=detail,
    )
    return program


def update_program(
    session: Session, *, actor: Actor, program: Program, data: ProgramUpdate
) -> Program:
    """Change a program; a new list of courses replaces the old one."""
    _authorize(actor, "program.update")
    rules = hold_counting_rules(session)
    changes = data.model_dump(exclude_unset=True)
    required = _resolve_required(session, data.courses) if data.courses is not None else None
    if "default_for" in changes:
        _check_default_free(session, data.default_for, program.code)
        program.default_for = data.default_for.value if data.default_for else None
    for name in ("title_vi", "title_en", "active"):
        if name in changes:
            setattr(program, name, changes[name])
    program.updated_at = utcnow()
    _store_program(session, program, required, creating=False)
    detail: dict[str, Any] = {"fields": sorted(changes)}
    if required is not None:
        detail["courses"] = sorted(required)
    _recount(session, rules, detail, program_code=program.code, actor=actor)
    _audit(
        session,
        actor,
        action="program.update",
        target_type="program",
        target_id=program.code,
        detail=detail,
    )
    return program


REQUIREMENTS_KEY = "catalog_requirements"
PROGRAMS_KEY = "catalog_programs"


@dataclass(frozen=True)
class Requirement:
    """A program as attainment sees it: whether it is active, whom it is the default for,
    and its required courses with their pass scores."""

    active: bool
    default_for: str | None
    courses: dict[str, float]


def requirements(session: Session) -> dict[str, Requirement]:
    """Every program's requirement, read with one query once a session.

    The programs stay in the session as well, so signing a credential right after needs no
    further read.
    """
    cached = session.info.get(REQUIREMENTS_KEY)
    if cached is not None:
        return dict(cached)
    found: dict[str, tuple[Program, dict[str, float]]] = {}
    statement = select(Program, ProgramCourse).join(
        ProgramCourse,
        col(ProgramCourse.program_code) == col(Program.code),
        isouter=True,
    )
    for program, link in session.exec(statement).all():
        _, courses = found.setdefault(program.code, (program, {}))
        if link is not None:
            courses[link.course_code] = link.pass_score
    result = {
        code: Requirement(program.active, program.default_for, courses)
        for code, (program, courses) in found.items()
    }
    session.info[REQUIREMENTS_KEY] = result
    # The session's identity map holds objects weakly; this keeps the programs in it.
    session.info[PROGRAMS_KEY] = [program for program, _ in found.values()]
    return dict(result)


_REQUIREMENT_ROWS = sa.select(
    col(Program.code),
    col(Program.active),
    col(Program.default_for),
    col(ProgramCourse.course_code),
    col(ProgramCourse.pass_score),
).join(ProgramCourse, col(ProgramCourse.program_code) == col(Program.code), isouter=True)


_REQUIREMENT_ROW = _REQUIREMENT_ROWS.subquery("requirement")

# Every program's requirement as one value, to go beside another read's columns: a JSON array
# of `_REQUIREMENT_ROWS`' rows (each of its values a JSON one), read by `requirements_from`.
REQUIREMENTS_VALUE = sa.select(
    sa.func.json_agg(sa.func.json_build_array(*_REQUIREMENT_ROW.c), type_=sa.types.NullType())
).scalar_subquery()


def requirements_from(rows: Sequence[Sequence[Any]] | None) -> dict[str, Requirement]:
    """The requirements from `REQUIREMENTS_VALUE`'s rows (None when there is no program)."""
    found: dict[str, Requirement] = {}
    for code, active, default_for, course_code, pass_score in rows or ():
        requirement = found.setdefault(code, Requirement(active, default_for, {}))
        if course_code is not None:
            requirement.courses[course_code] = pass_score
    return found
