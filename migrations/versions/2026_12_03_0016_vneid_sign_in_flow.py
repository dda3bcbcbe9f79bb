"""vneid sign-in flow

The mock VNeID keeps the authorization codes it hands to relying parties (one use, PKCE-bound)
and counts sign-in attempts per citizen and per client address; the tracker remembers the
`id_token`s it accepted until they expire, so none is accepted twice.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vneid_authorization",
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("code_challenge", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("citizen_ref", sa.Uuid(), nullable=False),
        sa.Column("sealed_citizen_id", sa.Text(), nullable=False),
        sa.Column("expires_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_ref"],
            ["vneid_citizen.id"],
            name=op.f("fk_vneid_authorization_citizen_ref_vneid_citizen"),
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_vneid_authorization")),
    )
    with op.batch_alter_table("vneid_authorization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vneid_authorization_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "vneid_sign_in_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_vneid_sign_in_throttle")),
    )
    op.create_table(
        "vneid_id_token_use",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_vneid_id_token_use")),
    )
    with op.batch_alter_table("vneid_id_token_use", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vneid_id_token_use_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vneid_id_token_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vneid_id_token_use_expires_at"))
    op.drop_table("vneid_id_token_use")
    op.drop_table("vneid_sign_in_throttle")
    with op.batch_alter_table("vneid_authorization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vneid_authorization_expires_at"))
    op.drop_table("vneid_authorization")
