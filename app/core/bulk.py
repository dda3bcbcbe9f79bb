"""Many rows into one table with one statement, in the session's transaction.

On PostgreSQL the rows go as one array per column through `unnest`: the statement is short
and the same whatever the number of rows, where a multi-row VALUES list is a new statement of
tens of thousands of placeholders that the driver parses anew each time (it cost more than
the insert). Each array goes as one array literal made here (the driver's own adaptation,
element by element in Python, cost as much again). Elsewhere they go as an executemany.
"""

import json
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=32)
def _unnest_sql(
    table: sa.Table,
    names: tuple[str, ...],
    order_by: tuple[str, ...],
    returning: tuple[str, ...],
    skip_conflicts: bool,
) -> str:
    # Names and types come from the table's metadata, never from input.
    quoted = ", ".join(f'"{name}"' for name in names)
    arrays = []
    for name in names:
        column_type = table.c[name].type
        element = "json" if isinstance(column_type, sa.JSON) else column_type.compile(dialect=_PG)
        arrays.append(f"%({name})s::{element}[]")
    sql = (
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} '  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS incoming({quoted})"
    )
    if order_by:
        sql += " ORDER BY " + ", ".join(f'"{name}"' for name in order_by)
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    return sql


def _element(value: Any, json_values: bool) -> str:
    if value is None:
        return "NULL"
    if json_values:
        text = json.dumps(value)
    elif isinstance(value, bool):
        text = "t" if value else "f"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    # Quoted, with a backslash before a quote or a backslash: any text reads back as it was.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Sequence[Any], *, json_values: bool = False) -> str:
    """The values as one PostgreSQL array literal (`{"a","b",NULL}`), cast by the statement.

    A naive datetime would be read in the database session's zone: pass aware ones.
    """
    return "{" + ",".join(_element(value, json_values) for value in values) + "}"


def insert_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    order_by: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
    skip_conflicts: bool = False,
) -> list[Sequence[Any]]:
    """Insert `rows` (dicts with the same keys), in `order_by` order on PostgreSQL; with
    `skip_conflicts`, a row that clashes with a unique key is skipped. Returns the `returning`
    columns of the rows inserted.

    The values go to PostgreSQL as the driver adapts them (no column type's own processing):
    aware datetimes, UUIDs, dates, numbers, text, and dicts for JSON columns.
    """
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        names = tuple(rows[0])
        sql = _unnest_sql(table, names, order_by, returning, skip_conflicts)
        params = {
            name: array_literal(
                [row[name] for row in rows], json_values=isinstance(table.c[name].type, sa.JSON)
            )
            for name in names
        }
        result = connection.exec_driver_sql(sql, params)
        return list(result.all()) if returning else []
    statement: Any = sqlite.insert(table)
    if skip_conflicts:
        statement = statement.on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
        return list(connection.execute(statement, list(rows)).all())
    connection.execute(statement, list(rows))
    return []
