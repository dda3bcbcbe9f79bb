"""Request and response shapes for certificates."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

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
    issued_at: datetime = Field(description="When it was recorded")
    attained_at: datetime = Field(
        description="When its holder met the standard: the last required course's completion"
    )
    status: str = Field(description="valid or revoked")
    revoked_at: datetime | None
    revoked_reason: str | None
    reinstated_at: datetime | None = Field(description="When a mistaken revocation was undone")
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


class VerificationStatus(StrEnum):
    """What a verifier is told; `valid` is true for `valid` alone."""

    valid = "valid"
    revoked = "revoked"
    # The holder's identifying data was erased on their request: nothing to vouch for.
    erased = "erased"
    # The stored credential does not verify with any key and issuer the service has used.
    not_verified = "not_verified"


class ReinstateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Thu hồi nhầm chứng nhận của người khác"}]},
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class Verification(BaseModel):
    """What anyone may learn about a certificate: minimal disclosure."""

    id: uuid.UUID
    status: VerificationStatus = Field(
        description="valid, revoked, erased (the holder's data was erased on request) or "
        "not_verified (the credential does not verify); `valid` is true only for valid"
    )
    valid: bool
    signature_valid: bool = Field(description="The stored credential verifies with our keys")
    program_code: str
    program_title: str
    issued_on: date
    attained_on: date = Field(description="The day its holder met the standard")
    holder_name: str = Field(description='Partly shown: "N***** V** An"')
    revoked_on: date | None
    issuer: str
    kid: str | None


class DeliveryItem(BaseModel):
    """One certificate's delivery to VNeID, as an operator follows it."""

    certificate_id: uuid.UUID
    learner_id: uuid.UUID
    program_code: str
    commune_code: str
    certificate_status: str
    status: str = Field(description="pending, delivered, rejected, withdrawing or withdrawn")
    attempts: int
    last_error: str | None = Field(description="VNeID's own reason for the last failure")
    next_attempt_at: datetime | None
    issued_at: datetime
    revoked_at: datetime | None


class RedeliverAll(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"state": "rejected"}]}
    )

    state: Literal["pending", "rejected", "stuck"] = Field(
        description="Send again every certificate in this state, in the caller's scope"
    )


class Redelivered(BaseModel):
    redelivered: int = Field(description="How many certificates will be sent again now")
