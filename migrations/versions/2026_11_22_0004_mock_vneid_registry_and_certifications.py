"""mock vneid registry and certifications

The mock VNeID keeps its citizens (by keyed hash of the ID number, never the number) and the
certificates it received, one per credential id, in tables of its own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:47:31.115832
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vneid_citizen",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("passcode_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vneid_citizen")),
        sa.UniqueConstraint("citizen_id_hash", name=op.f("uq_vneid_citizen_citizen_id_hash")),
    )
    op.create_table(
        "vneid_certification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("citizen_ref", sa.Uuid(), nullable=False),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("program_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("holder_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("valid_from", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("received_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_ref"],
            ["vneid_citizen.id"],
            name=op.f("fk_vneid_certification_citizen_ref_vneid_citizen"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vneid_certification")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_vneid_certification_credential_id")),
    )
    with op.batch_alter_table("vneid_certification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vneid_certification_citizen_ref"), ["citizen_ref"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vneid_certification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vneid_certification_citizen_ref"))

    op.drop_table("vneid_certification")
    op.drop_table("vneid_citizen")
