"""imports say which map their commune codes are on

An upload may say that its `commune_code` column holds codes of the old map (before
1 July 2025); the import keeps that choice so a resumed import reads its rows the same way.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(
            sa.Column(
                "commune_scheme",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="official",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("commune_scheme")
