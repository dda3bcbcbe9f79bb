"""certificate attainment dates, reinstatement, and a new certificate after a revocation

A certificate is dated in the indicators by when its holder met the standard
(`attained_at`), its recording time (`issued_at`) kept beside it. Existing certificates are
dated by their issue time: the running totals were built from it, so they stay exactly equal
to a count from the raw records without a rebuild. Only valid certificates are unique per
learner and program, so that one who meets a standard again after a revocation gets a new one.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID = sa.text("status = 'valid'")


def upgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attained_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reinstated_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE certificate SET attained_at = issued_at")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.alter_column(
            "attained_at",
            existing_type=app.core.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.drop_constraint("uq_certificate_learner_id_program_code", type_="unique")
        batch_op.create_index(
            "uq_certificate_valid_learner_program",
            ["learner_id", "program_code"],
            unique=True,
            sqlite_where=VALID,
            postgresql_where=VALID,
        )


def downgrade() -> None:
    # Where a learner holds several certificates of one program, the newest (or valid) stays.
    op.execute(
        """
        DELETE FROM certificate WHERE status = 'revoked' AND EXISTS (
            SELECT 1 FROM certificate AS newer
            WHERE newer.learner_id = certificate.learner_id
              AND newer.program_code = certificate.program_code
              AND (newer.status = 'valid' OR newer.issued_at > certificate.issued_at)
        )
        """
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index("uq_certificate_valid_learner_program")
        batch_op.create_unique_constraint(
            "uq_certificate_learner_id_program_code", ["learner_id", "program_code"]
        )
        batch_op.drop_column("reinstated_at")
        batch_op.drop_column("attained_at")
