"""stat_total covering key

On PostgreSQL the running totals' primary key includes `count`, so summing a unit's rows is an
index-only scan: the national figures read about a third as many pages. SQLite has no INCLUDE
and keeps its key as it is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint("pk_stat_total", "stat_total", type_="primary")
    op.execute(
        "ALTER TABLE stat_total ADD CONSTRAINT pk_stat_total"
        " PRIMARY KEY (level, unit_code, metric, effective_on) INCLUDE (count)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint("pk_stat_total", "stat_total", type_="primary")
    op.create_primary_key(
        "pk_stat_total", "stat_total", ["level", "unit_code", "metric", "effective_on"]
    )
