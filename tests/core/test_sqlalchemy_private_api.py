"""SQLAlchemy's private parts that `app.core.db` relies on to run compiled statements on the
driver's cursor (`read_columns`, and `app.core.direct` through `direct_form`).

constraints.txt pins SQLAlchemy; this fails when a new version changes any of them, before a
request would.
"""

import inspect
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlalchemy.sql.type_api import TypeEngine
from sqlmodel import col

from app.core.db import direct_form
from app.stats.models import Target


def test_the_private_attributes_read_columns_uses_are_there() -> None:
    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    statement = sa.select(
        col(Target.indicator), col(Target.deadline), col(Target.updated_at)
    ).where(col(Target.scope_code) == bindparam("code"))
    assert isinstance(statement, TypedReturnsRows)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)

    # Bind processors: a mapping of parameter name to a callable (or nothing).
    assert set(compiled._bind_processors) <= {"code"}
    assert all(callable(process) for process in compiled._bind_processors.values())
    # The result columns, in order, each with its column's type.
    assert [entry.keyname for entry in compiled._result_columns] == [
        "indicator",
        "deadline",
        "updated_at",
    ]
    types = [entry.type for entry in compiled._result_columns]
    assert all(isinstance(type_, TypeEngine) for type_ in types)
    # A type's result processor, cached per dialect and the driver's type code.
    parameters = list(inspect.signature(TypeEngine._cached_result_processor).parameters)
    assert parameters == ["self", "dialect", "coltype"]
    for type_ in types:
        processor = type_._cached_result_processor(dialect, 0)
        assert processor is None or callable(processor)
    # Public, but what decides whether a statement can run on the cursor.
    assert compiled.post_compile_params == frozenset()
    assert compiled.construct_params({"code": "VN"}) == {"code": "VN"}


def test_a_statement_compiled_once_takes_parameters_and_gives_typed_rows() -> None:
    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    statement = sa.select(col(Target.deadline), col(Target.updated_at)).where(
        col(Target.scope_code) == bindparam("code")
    )
    form = direct_form(statement, dialect)
    assert form is not None
    assert form.values({"code": "VN"}) == {"code": "VN"}
    assert "%(code)s" in form.compiled.string

    class Cursor:  # what psycopg gives: (name, type code, ...) per column
        description = (("deadline", 1082), ("updated_at", 1184))

    # The column's own type makes the stored time aware (UTC): the processor was applied.
    when = datetime(2026, 1, 2, 3, 4, 5)
    rows = form.processed(dialect, Cursor(), [(date(2026, 12, 31), when)])
    assert rows == [(date(2026, 12, 31), when.replace(tzinfo=UTC))]
    # Expanding parameters are left to SQLAlchemy.
    expanding = sa.select(col(Target.deadline)).where(
        col(Target.scope_code).in_(bindparam("codes", expanding=True))
    )
    assert direct_form(expanding, dialect) is None
