"""credential issuers

Every public address the service has issued credentials as is kept, so a credential verifies
against its own issuer after the service moves to a new domain. The issuers of the credentials
already signed are recorded from the credentials themselves.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00.000000
"""

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _issuer_of(token: str) -> str | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) and len(issuer) <= 300 else None


def upgrade() -> None:
    issuer = op.create_table(
        "credential_issuer",
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("first_used_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_credential_issuer")),
    )
    connection = op.get_bind()
    found: dict[str, datetime] = {}
    rows = connection.execute(
        sa.text("SELECT credential, issued_at FROM certificate WHERE credential IS NOT NULL")
    )
    for credential, issued_at in rows:
        url = _issuer_of(credential)
        if url is None:
            continue
        # SQLite hands the stored time back as text.
        moment = issued_at if isinstance(issued_at, datetime) else datetime.fromisoformat(issued_at)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if url not in found or moment < found[url]:
            found[url] = moment
    if found:
        op.bulk_insert(issuer, [{"url": u, "first_used_at": t} for u, t in found.items()])


def downgrade() -> None:
    op.drop_table("credential_issuer")
