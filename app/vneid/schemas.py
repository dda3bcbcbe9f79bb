"""Shapes of the tracker's VNeID endpoints."""

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.citizen_id import CitizenId
from app.core.text import FullName


class DemoCitizen(BaseModel):
    """A person to add to the mock VNeID's registry, so they can sign in and be delivered to."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "citizen_id": "001085000201",
                    "full_name": "Phạm Thị Hoa",
                    "birth_date": "1985-06-01",
                    "passcode": "123456",
                }
            ]
        },
    )

    citizen_id: CitizenId
    full_name: FullName
    birth_date: date
    passcode: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(
        description="Mật mã VNeID 6 chữ số để đăng nhập / the 6-digit passcode to sign in with"
    )


class DemoCitizenAdded(BaseModel):
    handle: uuid.UUID = Field(description="The citizen's handle in VNeID (an id_token's `sub`)")
    full_name: str
    birth_date: date
    citizen_id_masked: str
