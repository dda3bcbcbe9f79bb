"""Loading the catalogue from seed/courses.toml and seed/programs.toml.

Only what is missing is inserted, through the catalogue service: a course or program a national
admin has edited since keeps those edits, and running the seed twice changes nothing.
"""

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.catalog import service
from app.catalog.models import Course, Program
from app.catalog.schemas import CourseCreate, ProgramCreate
from app.learners.models import Group


def _read(path: Path, table: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open("rb") as file:
        entries = tomllib.load(file).get(table, [])
    if not isinstance(entries, list):
        raise ValueError(f"{path}: [[{table}]] must be an array of tables")
    return entries


def load_catalogue(session: Session, seed_dir: Path) -> dict[str, int]:
    """Insert the seeded courses and programs that are missing; returns counts."""
    for entry in _read(seed_dir / "courses.toml", "course"):
        course = CourseCreate.model_validate(entry)
        if session.get(Course, course.code) is None:
            service.create_course(session, actor=None, data=course)
    for entry in _read(seed_dir / "programs.toml", "program"):
        courses = [{"course_code": code} for code in entry.get("courses", [])]
        program = ProgramCreate.model_validate({**entry, "courses": courses})
        if session.get(Program, program.code) is not None:
            continue
        if program.default_for is not None and _has_default(session, program.default_for):
            # A national admin already chose another default for this group; keep their choice.
            program = program.model_copy(update={"default_for": None})
        service.create_program(session, actor=None, data=program)
    session.flush()
    return {
        "courses": session.exec(select(func.count()).select_from(Course)).one(),
        "programs": session.exec(select(func.count()).select_from(Program)).one(),
    }


def _has_default(session: Session, group: Group) -> bool:
    return service.default_program_code(session, group) is not None
