"""username any case

User names are unique regardless of case: `Admin` and `admin` are one account. An index on
the lower-cased name makes it so even for two creations at once. It fails if two existing
accounts differ only in case: rename one first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("uq_user_username_lower", "user", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_user_username_lower", table_name="user")
