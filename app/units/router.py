"""Provinces, communes and villages."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.accounts.deps import CurrentActor
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.units import legacy, service
from app.units.schemas import (
    CommuneDetail,
    CommunePublic,
    LegacyCommunePublic,
    NewCommuneOfOld,
    OldUnit,
    ProvincePublic,
    VillageCreate,
    VillagePublic,
)

router = APIRouter(tags=["units"])

ProvinceCodePath = Annotated[str, Path(pattern=r"^\d{2}$", examples=["01"])]
CommuneCodePath = Annotated[str, Path(pattern=r"^\d{5}$", examples=["00070"])]


@router.get("/provinces", response_model=Page[ProvincePublic])
def list_provinces(
    session: SessionDep,
    _actor: CurrentActor,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[ProvincePublic]:
    """34 tỉnh, thành phố / The 34 provinces and centrally-run cities (one page by default)."""
    provinces, next_cursor = service.list_provinces(session, cursor=cursor, limit=limit)
    return Page(
        items=[ProvincePublic.model_validate(p) for p in provinces], next_cursor=next_cursor
    )


@router.get("/provinces/{code}/communes", response_model=Page[CommunePublic])
def list_province_communes(
    code: ProvinceCodePath,
    session: SessionDep,
    _actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 500,
) -> Page[CommunePublic]:
    """Xã, phường, đặc khu của một tỉnh / The communes of a province."""
    service.get_province(session, code)
    communes, next_cursor = service.search_communes(
        session, query=q, province_code=code, cursor=cursor, limit=limit
    )
    return Page(items=[CommunePublic.model_validate(c) for c in communes], next_cursor=next_cursor)


@router.get("/communes", response_model=Page[CommunePublic])
def search_communes(
    session: SessionDep,
    _actor: CurrentActor,
    q: Annotated[
        str | None,
        Query(max_length=100, description='Không dấu cũng được: "ha giang" tìm thấy "Hà Giang"'),
    ] = None,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[CommunePublic]:
    """Tìm xã/phường (không phân biệt dấu) / Search communes, accent-insensitive."""
    communes, next_cursor = service.search_communes(
        session, query=q, province_code=province_code, cursor=cursor, limit=limit
    )
    return Page(items=[CommunePublic.model_validate(c) for c in communes], next_cursor=next_cursor)


@router.get("/communes/{code}", response_model=CommuneDetail)
def get_commune(code: CommuneCodePath, session: SessionDep, actor: CurrentActor) -> CommuneDetail:
    """Một xã/phường với các thôn, tổ dân phố / One commune; its villages when in your scope.

    Mã chỉ có trong danh mục cũ: 404 với `legacy_commune` (địa chỉ tra cứu) / a code of the
    old map only answers 404 with `legacy_commune`, the address of its look-up.
    """
    commune = service.get_commune(session, code)
    province = service.get_province(session, commune.province_code)
    in_scope = actor.covers(commune.province_code, commune.code)
    villages = service.list_villages(session, commune.code) if in_scope else []
    return CommuneDetail(
        **CommunePublic.model_validate(commune).model_dump(),
        province_name=province.name,
        villages=[VillagePublic.model_validate(v) for v in villages],
    )


@router.post(
    "/communes/{code}/villages",
    response_model=VillagePublic,
    status_code=status.HTTP_201_CREATED,
)
def create_village(
    code: CommuneCodePath, data: VillageCreate, session: SessionDep, actor: CurrentActor
) -> VillagePublic:
    """Tạo thôn/tổ dân phố / Create a village in a commune (commune admins and up, in scope)."""
    commune = service.get_commune(session, code)
    village = service.create_village(session, actor=actor, commune=commune, data=data)
    return VillagePublic.model_validate(village)


def _legacy_public(unit: legacy.LegacyCommune) -> LegacyCommunePublic:
    return LegacyCommunePublic(
        code=unit.code,
        name=unit.name,
        division_type=unit.division_type,
        district=OldUnit(code=unit.district_code, name=unit.district_name),
        province=OldUnit(code=unit.province_code, name=unit.province_name),
        went=unit.went.value,
        new_communes=[
            NewCommuneOfOld(
                code=c.code,
                name=c.name,
                division_type=c.division_type,
                province_code=c.province_code,
                province_name=c.province_name,
            )
            for c in unit.new_communes
        ],
    )


@router.get("/legacy/communes", response_model=Page[LegacyCommunePublic])
def search_legacy_communes(
    _actor: CurrentActor,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description='Tên cũ, không dấu cũng được: "hang trong", "phuong 15 phu nhuan"',
        ),
    ] = None,
    province_code: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="Mã tỉnh cũ / old province code")
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[LegacyCommunePublic]:
    """Tìm xã/phường cũ (trước 1/7/2025) / Search the old map's communes, accent-insensitive.

    Tên xã, huyện, tỉnh cũ đều được; khớp tên xã trước / by the old commune's, district's or
    province's name; those matching the commune's own name first, then by code.
    """
    found = legacy.search(q, province_code=province_code)
    page, next_cursor = service.page_of(found, cursor=cursor, limit=limit)
    return Page(items=[_legacy_public(u) for u in page], next_cursor=next_cursor)


@router.get("/legacy/communes/{old_code}", response_model=LegacyCommunePublic)
def get_legacy_commune(old_code: CommuneCodePath, _actor: CurrentActor) -> LegacyCommunePublic:
    """Một xã/phường cũ và xã/phường mới nó chuyển vào / An old commune and where it went.

    Mã cũ (trước 1/7/2025), với huyện, tỉnh cũ và các xã mới (mã chính thức 2025), nhập
    nguyên (`whole`) hay một phần (`split`) / the old unit with its old district and province
    and the new commune(s), by their official 2025 codes, whole or in part.
    """
    unit = legacy.get(old_code)
    if unit is None:
        raise NotFound("what.legacy_commune")
    return _legacy_public(unit)
