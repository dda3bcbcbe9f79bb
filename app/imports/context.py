"""What every kind of import shares while it stores a chunk of rows."""

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.actor import Actor
from app.core.context import WriteContext
from app.core.errors import DomainError
from app.core.security import PersonalIds
from app.core.text import fold
from app.imports import columns
from app.imports.readers import Cell
from app.sync import problems
from app.units.models import Commune, Village

# Pydantic's date errors say YYYY-MM-DD; a file's dates are usually dd/mm/yyyy, so a row's
# reason names both.
_DATE_ERRORS = frozenset(
    {
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
        "date_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_type",
    }
)


def row_problem(error: ValidationError) -> problems.ProblemData:
    """A row that failed its schema, its date errors naming the formats a file may use."""
    problem = problems.from_validation(error)
    for field_error in problem.get("errors", []):
        if field_error.get("type") in _DATE_ERRORS:
            field_error["type"] = "import.bad_date"
    return problem


# How often the interpreter lock changes hands while an import runs (Python's default: 5 ms).
SWITCH_SECONDS = 0.0005


@contextmanager
def quick_switches() -> Iterator[None]:
    """Let the interpreter lock change hands every half millisecond while an import runs.

    Checking rows is pure Python, and the thread doing it keeps the lock until made to give it
    up: the thread storing the previous chunk, and the requests the service answers meanwhile,
    would wait up to 5 ms for it after each answer from the database.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@dataclass(slots=True)
class SourceRow:
    """One row of the file: its number as a spreadsheet shows it, its known fields, and
    all its cells as read."""

    number: int
    fields: dict[str, Cell]
    cells: list[Cell]


@dataclass(frozen=True)
class Rejection:
    number: int
    problem: problems.ProblemData
    # The ID number as the uploader sent it (kept encrypted, for the rejected-rows file).
    citizen_id: str | None = None


@dataclass
class ChunkOutcome:
    stored: int = 0
    duplicate: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, row: SourceRow, error: DomainError | problems.ProblemData) -> None:
        problem = problems.from_error(error) if isinstance(error, DomainError) else error
        raw_id = columns.citizen_id(row.fields.get("citizen_id"))
        self.rejected.append(Rejection(row.number, problem, raw_id))


@dataclass
class ImportContext:
    """The import's caller and defaults, and lookups kept for the whole file."""

    import_id: uuid.UUID
    actor: Actor
    personal_ids: PersonalIds
    default_commune_code: str | None
    today: date
    # Look-ups read with sessions of their own: checking rows needs no transaction.
    engine: Engine
    # The adult age, and the signer of certificates that completions issue.
    context: WriteContext
    # The file's `commune_code` column holds codes of the old map (the upload's option).
    old_codes: bool = False
    _communes: dict[str, str] | None = None
    _villages: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def adult_age(self) -> int:
        return self.context.adult_age

    def province_of(self, commune_code: str) -> str | None:
        """The commune's province, or None for an unknown commune (all loaded once)."""
        if self._communes is None:
            with Session(self.engine) as session:
                rows = session.exec(select(Commune.code, Commune.province_code)).all()
            self._communes = dict(rows)
        return self._communes.get(commune_code)

    def village_id(self, commune_code: str, name: str) -> int | None:
        """The commune's village of that name (accents and case aside), or None."""
        if commune_code not in self._villages:
            with Session(self.engine) as session:
                rows = session.exec(
                    select(Village.name_folded, Village.id).where(
                        Village.commune_code == commune_code
                    )
                ).all()
            self._villages[commune_code] = {n: i for n, i in rows if i is not None}
        return self._villages[commune_code].get(fold(name))


def commune_code(value: Cell) -> str | None:
    """A commune code from a cell, zero-padded back when a spreadsheet took it for a number."""
    if value is None:
        return None
    raw = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raw = raw.strip()
    return raw.zfill(5) if raw.isdigit() and len(raw) < 5 else raw or None
