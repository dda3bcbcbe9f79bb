"""certificate withdrawal from VNeID

A revoked certificate that reached VNeID is withdrawn there too: the delivery state gains
`withdrawing` and `withdrawn` (longer than the old column allowed), and the mock VNeID keeps
when and why the issuer revoked a certification.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.alter_column(
            "vneid_status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=10),
            type_=sqlmodel.sql.sqltypes.AutoString(length=12),
            existing_nullable=False,
        )
    with op.batch_alter_table("vneid_certification") as batch:
        batch.add_column(
            sa.Column("revoked_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("vneid_certification") as batch:
        batch.drop_column("revoked_reason")
        batch.drop_column("revoked_at")
    with op.batch_alter_table("certificate") as batch:
        batch.alter_column(
            "vneid_status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=10),
            existing_nullable=False,
        )
