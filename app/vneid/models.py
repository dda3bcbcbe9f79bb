"""What the tracker keeps about VNeID sign-ins."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.types import utc_column


class IdTokenUse(SQLModel, table=True):
    """A VNeID `id_token` already exchanged for a session, kept until it expires.

    `key` is a SHA-256 of the token's issuer and `jti` (or of its signature when it has no
    `jti`): the token itself is never stored.
    """

    __tablename__ = "vneid_id_token_use"

    key: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=utc_column(index=True))
