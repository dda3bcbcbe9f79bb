"""communes move to the statistics office's official codes

The units were loaded from `vietnam-provinces` 2025.10, which carried the draft decision's
commune codes; the official list renumbers 123 of them and gives 9 numbers to other communes.
Every stored commune code moves to the official one, matched by province and name (see
`app.units.official`); if any stored commune matches none, nothing changes and the migration
stops, naming them. The database then records which list its units came from.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:00:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.types import UTCDateTime
from app.units import official

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "reference_data",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("data_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_data")),
    )
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM commune")).scalar_one() == 0:
        return  # a new database: the seed loads the units and records their version
    moves = official.recode_communes(
        connection,
        provinces=official.official_provinces(),
        communes=official.official_communes(),
    )
    official.record_version(connection, official.installed_version())
    official.record_recoding(connection, moves, official.installed_version())
    logger.info("moved %d commune codes to the official list", len(moves))


def downgrade() -> None:
    op.drop_table("reference_data")
