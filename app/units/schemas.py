"""Shapes of provinces, communes and villages."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.bounds import InputModel
from app.core.text import CleanName


class ProvincePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    division_type: str


class CommunePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    division_type: str
    province_code: str


class VillageCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Thôn Đông", "kind": "thon"}]},
    )

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), CleanName
    ]
    kind: Literal["thon", "ban", "to_dan_pho", "ap", "khu_pho", "other"] = "thon"


class VillagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    commune_code: str
    province_code: str
    created_at: datetime


class CommuneDetail(CommunePublic):
    province_name: str
    villages: list[VillagePublic]


class OldUnit(BaseModel):
    code: str
    name: str


class NewCommuneOfOld(BaseModel):
    code: str = Field(description="Mã chính thức 2025 / the official 2025 code")
    name: str
    division_type: str
    province_code: str
    province_name: str


class LegacyCommunePublic(BaseModel):
    """A commune of the old map (before 1 July 2025) and where it went."""

    code: str = Field(description="Mã cũ / the old code")
    name: str
    division_type: str
    district: OldUnit
    province: OldUnit
    went: Literal["whole", "split", "unmapped"] = Field(
        description=(
            "whole: nhập nguyên vào một xã mới; split: chia (một phần) vào các xã mới; "
            "unmapped: bảng chuyển đổi không ghi / whole: all of it into one new commune; "
            "split: in parts into the new communes listed; unmapped: the table does not say"
        )
    )
    new_communes: list[NewCommuneOfOld]
