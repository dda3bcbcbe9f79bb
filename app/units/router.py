"""Provinces, communes and villages."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.accounts.deps import CurrentActor
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.units import service
from app.units.schemas import (
    CommuneDetail,
    CommunePublic,
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
    """Một xã/phường với các thôn, tổ dân phố / One commune; its villages when in your scope."""
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
