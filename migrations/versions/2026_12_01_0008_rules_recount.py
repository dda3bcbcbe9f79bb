"""rules recount

A program edit that changes the counting rules no longer recounts everyone it moves inside the
edit's own transaction: it records the rules as they were, and the recount runs after it, a
batch of people per transaction, while every other write goes on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rules_recount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("programs", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("done_through", sa.Uuid(), nullable=True),
        sa.Column("stop_at", sa.Uuid(), nullable=True),
        sa.Column("recounted", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_rules_recount_requested_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_recount")),
    )


def downgrade() -> None:
    op.drop_table("rules_recount")
