"""learners keep only the indexes a query uses

Every index on `learner` is written for each row stored, and imports and phones store rows by
the hundred thousand. Two answered no query: `ix_learner_commune_code` repeats the first column
of `ix_learner_commune_name`, and `ix_learner_village_id` served only the list filtered by
village, which now also names the village's commune (a village lies in one) and so finds its
rows through `ix_learner_commune_name`. Villages are never deleted, so their foreign key needs no
index either. What stays, and the query that uses it:

- `learner_pkey` (id): a learner by id (every read, change and result), and the lists' order;
- `uq_learner_citizen_id_hash`: one person nationwide, and a person looked up by ID number;
- `uq_learner_client_id`: a phone's record sent again is found, and never stored twice;
- `ix_learner_commune_name` (commune_code, name_folded): a commune's learners, listed and
  searched by name (commune staff, a commune or village filter);
- `ix_learner_province_name` (province_code, name_folded): a province's learners, listed and
  searched by name (province staff).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("learner") as batch_op:
        batch_op.drop_index("ix_learner_commune_code")
        batch_op.drop_index("ix_learner_village_id")


def downgrade() -> None:
    with op.batch_alter_table("learner") as batch_op:
        batch_op.create_index("ix_learner_village_id", ["village_id"], unique=False)
        batch_op.create_index("ix_learner_commune_code", ["commune_code"], unique=False)
