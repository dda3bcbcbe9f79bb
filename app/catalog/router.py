"""The catalogue: courses and programs (reads for all staff, writes for national admins)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from app.accounts.deps import CurrentActor
from app.catalog import service
from app.catalog.models import Course, Program
from app.catalog.schemas import (
    CODE_PATTERN,
    CourseCreate,
    CoursePublic,
    CourseUpdate,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
)
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.learners.models import Group

router = APIRouter(tags=["catalog"])

CodePath = Annotated[str, Path(pattern=CODE_PATTERN, examples=["KNS-ANTT"])]
ActiveQuery = Annotated[
    bool | None, Query(description="Chỉ đang/ngừng hoạt động / Only active or inactive ones")
]


def course_by_code(code: CodePath, session: SessionDep, _actor: CurrentActor) -> Course:
    return service.get_course(session, code)


def program_by_code(code: CodePath, session: SessionDep, _actor: CurrentActor) -> Program:
    return service.get_program(session, code)


CourseByCode = Annotated[Course, Depends(course_by_code)]
ProgramByCode = Annotated[Program, Depends(program_by_code)]


@router.get("/courses", response_model=Page[CoursePublic])
def list_courses(
    session: SessionDep,
    _actor: CurrentActor,
    active: ActiveQuery = None,
    audience: Annotated[
        Group | None, Query(description="Dành cho nhóm / Meant for this target group")
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[CoursePublic]:
    """Danh mục khóa học / The course catalogue."""
    courses, next_cursor = service.list_courses(
        session, active=active, audience=audience, cursor=cursor, limit=limit
    )
    return Page(items=[service.to_course_public(c) for c in courses], next_cursor=next_cursor)


@router.get("/courses/{code}", response_model=CoursePublic)
def get_course(course: CourseByCode) -> CoursePublic:
    """Một khóa học / One course."""
    return service.to_course_public(course)


@router.post("/courses", response_model=CoursePublic, status_code=status.HTTP_201_CREATED)
def create_course(data: CourseCreate, session: SessionDep, actor: CurrentActor) -> CoursePublic:
    """Thêm khóa học / Add a course (national admins; a code already taken answers 409)."""
    course = service.create_course(session, actor=actor, data=data)
    return service.to_course_public(course)


@router.patch("/courses/{code}", response_model=CoursePublic)
def update_course(
    data: CourseUpdate, course: CourseByCode, session: SessionDep, actor: CurrentActor
) -> CoursePublic:
    """Sửa khóa học / Change a course (national admins)."""
    updated = service.update_course(session, actor=actor, course=course, data=data)
    return service.to_course_public(updated)


@router.get("/programs", response_model=Page[ProgramPublic])
def list_programs(
    session: SessionDep,
    _actor: CurrentActor,
    active: ActiveQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[ProgramPublic]:
    """Chuẩn kỹ năng số và khóa học bắt buộc / Programs with their required courses."""
    programs, next_cursor = service.list_programs(
        session, active=active, cursor=cursor, limit=limit
    )
    return Page(items=service.program_public(session, programs), next_cursor=next_cursor)


@router.get("/programs/{code}", response_model=ProgramPublic)
def get_program(program: ProgramByCode, session: SessionDep) -> ProgramPublic:
    """Một chương trình / One program with its required courses."""
    return service.program_public(session, [program])[0]


@router.post("/programs", response_model=ProgramPublic, status_code=status.HTTP_201_CREATED)
def create_program(data: ProgramCreate, session: SessionDep, actor: CurrentActor) -> ProgramPublic:
    """Thêm chương trình / Add a program of required courses (national admins)."""
    program = service.create_program(session, actor=actor, data=data)
    return service.program_public(session, [program])[0]


@router.patch("/programs/{code}", response_model=ProgramPublic)
def update_program(
    data: ProgramUpdate, program: ProgramByCode, session: SessionDep, actor: CurrentActor
) -> ProgramPublic:
    """Sửa chương trình / Change a program (national admins; `courses` replaces the list)."""
    updated = service.update_program(session, actor=actor, program=program, data=data)
    return service.program_public(session, [updated])[0]
