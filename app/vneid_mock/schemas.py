"""Request and response shapes of the mock VNeID."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.bounds import InputModel
from app.core.citizen_id import CitizenId
from app.core.text import CleanName

FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), CleanName
]


class IdentityCheck(InputModel):
    model_config = ConfigDict(extra="forbid")

    citizen_id: CitizenId
    full_name: FullName
    birth_date: date


class IdentityResult(BaseModel):
    match: bool


class TokenResponse(BaseModel):
    access_token: str
    id_token: str
    token_type: str = "bearer"
    expires_in: int


class CertificationIntake(InputModel):
    model_config = ConfigDict(extra="forbid")

    credential: Annotated[str, StringConstraints(max_length=20_000)] = Field(
        description="The tracker's signed credential (compact JWS)"
    )
    citizen_id: CitizenId


class Receipt(BaseModel):
    receipt_id: uuid.UUID
    credential_id: str
    received_at: datetime


class RevocationIntake(InputModel):
    model_config = ConfigDict(extra="forbid")

    notice: Annotated[str, StringConstraints(max_length=5_000)] = Field(
        description="The issuer's signed revocation notice (compact JWS, typ revocation+jwt)"
    )


class RevocationReceipt(BaseModel):
    credential_id: str
    revoked_at: datetime


class CertificationPublic(BaseModel):
    receipt_id: uuid.UUID
    credential_id: str
    issuer: str
    program_code: str
    title: str
    holder_name: str
    valid_from: datetime
    received_at: datetime
    status: Literal["valid", "revoked"]
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class CertificationList(BaseModel):
    items: list[CertificationPublic]


class CitizenAdd(BaseModel):
    """A demonstration citizen for the mock's registry."""

    model_config = ConfigDict(extra="forbid")

    citizen_id: CitizenId
    full_name: FullName
    birth_date: date
    passcode: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(
        description="Mật mã VNeID, 6 chữ số / the 6-digit VNeID passcode"
    )


class CitizenAdded(BaseModel):
    handle: uuid.UUID = Field(description="The citizen's opaque handle (an id_token's `sub`)")
    full_name: str
    birth_date: date
