"""Request and response shapes for certificates."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.bounds import InputModel


class DeliveryPublic(BaseModel):
    status: str = Field(description="pending, delivered or rejected")
    receipt_id: str | None
    delivered_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


class CertificatePublic(BaseModel):
    id: uuid.UUID
    learner_id: uuid.UUID
    program_code: str
    program_title: str
    holder_name: str
    issued_at: datetime
    status: str = Field(description="valid or revoked")
    revoked_at: datetime | None
    revoked_reason: str | None
    credential: str | None = Field(description="The signed credential (compact JWS, ES256)")
    kid: str | None
    verify_url: str
    vneid: DeliveryPublic


class RevokeRequest(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Kết quả học được ghi nhầm người"}]},
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class Verification(BaseModel):
    """What anyone may learn about a certificate: minimal disclosure."""

    id: uuid.UUID
    status: str = Field(description="valid or revoked")
    valid: bool
    signature_valid: bool = Field(description="The stored credential verifies with our keys")
    program_code: str
    program_title: str
    issued_on: date
    holder_name: str = Field(description='Partly shown: "N***** V** An"')
    revoked_on: date | None
    issuer: str
    kid: str | None
