"""Request and response shapes for learners."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.bounds import Day, InputModel, PastMoment
from app.core.citizen_id import CitizenId
from app.core.text import CleanName, FullName
from app.core.types import in_utc
from app.learners.models import Group, OfficialLevel, Sex

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\+84|0)\d{9,10}$")]
Agency = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), CleanName
]


class Consent(InputModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    given_at: Annotated[
        PastMoment,
        AfterValidator(in_utc),
        Field(description="ISO 8601; without a zone, UTC. Answered in UTC, as every time is"),
    ]


_GROUP_ORDER = {group: position for position, group in enumerate(Group)}


def _unique_groups(groups: list[Group]) -> list[Group]:
    return sorted(set(groups), key=_GROUP_ORDER.__getitem__)


class LearnerCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "citizen_id": "001085012345",
                    "full_name": "Nguyễn Văn An",
                    "birth_date": "1985-04-12",
                    "sex": "male",
                    "commune_code": "00070",
                    "groups": ["citizen"],
                    "phone": "0912345678",
                    "consent": {
                        "purpose": "Theo dõi kết quả học kỹ năng số",
                        "given_at": "2026-03-01T09:00:00+07:00",
                    },
                }
            ]
        },
    )

    citizen_id: CitizenId
    full_name: FullName
    birth_date: date  # checked against the ID number and its range by the service
    sex: Sex
    commune_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
    village_id: int | None = None
    groups: Annotated[list[Group], AfterValidator(_unique_groups)] = Field(
        default_factory=lambda: [Group.citizen], min_length=1, max_length=4
    )
    official_level: OfficialLevel | None = None
    agency: Agency | None = None
    phone: Phone | None = None
    consent: Consent
    client_id: uuid.UUID | None = Field(
        default=None, description="The phone's own id for this record, for safe retries"
    )


class LearnerUpdate(InputModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "groups": ["citizen", "official"],
                    "official_level": "commune",
                    "agency": "UBND xã",
                }
            ]
        },
    )

    citizen_id: CitizenId | None = None
    full_name: FullName | None = None
    birth_date: Day | None = None
    sex: Sex | None = None
    village_id: int | None = None
    groups: Annotated[list[Group], AfterValidator(_unique_groups)] | None = Field(
        default=None, min_length=1, max_length=4
    )
    official_level: OfficialLevel | None = None
    agency: Agency | None = None
    phone: Phone | None = None
    consent: Consent | None = None

    @field_validator("citizen_id", "full_name", "birth_date", "sex", "groups", "consent")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("missing", "This field cannot be null")
        return value


class LearnerLookup(InputModel):
    model_config = ConfigDict(extra="forbid")

    citizen_id: CitizenId


class ConsentPublic(BaseModel):
    purpose: str | None
    given_at: datetime | None


class LearnerPublic(BaseModel):
    id: uuid.UUID
    citizen_id_masked: str | None
    full_name: str
    birth_date: Day
    sex: Sex
    commune_code: str
    province_code: str
    village_id: int | None
    groups: list[Group]
    official_level: OfficialLevel | None
    agency: str | None
    phone: str | None
    consent: ConsentPublic
    created_at: datetime
    updated_at: datetime
