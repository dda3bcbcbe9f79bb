"""user session epoch

Every access token and browser session names the account's session epoch when it is issued;
a password set by an admin, or changed by its owner, moves the epoch on, so every credential
issued before stops working at once (the owner's own browser gets a new one).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user", sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("user", "session_epoch")
