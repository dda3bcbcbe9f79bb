"""The nation keeps running totals of its own.

Every learner now counts at the nation as well as at its village, commune and province, so
the national figures read one unit's rows instead of summing every province's. The nation's
rows are the provinces' rows added up, day by day.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        INSERT INTO stat_total (level, unit_code, metric, effective_on, count)
        SELECT 'national', 'VN', metric, effective_on, sum(count)
        FROM stat_total
        WHERE level = 'province'
        GROUP BY metric, effective_on
        HAVING sum(count) <> 0
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM stat_total WHERE level = 'national'")
