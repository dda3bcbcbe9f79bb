"""The old map: the 63 provinces, their districts and communes before 1 July 2025.

Lists made before the rearrangement name communes by the old 5-digit codes, whose numbers the
new codes reuse for other communes (old 00070 was Phường Hàng Trống; new 00070 is Phường Hoàn
Kiếm). This module reads the old units (`vietnam_provinces.legacy`) and the statistics office's
conversion table (old commune → the new commune or communes it went to, whole or in part) from
the installed package once, with the corrections below, and answers which new commune an old
code stands for.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vietnam_provinces import Province as NewProvince
from vietnam_provinces import Ward as NewWard

# The conversion table has no public name in the package; its module is the only source.
from vietnam_provinces._ward_conversion_2025 import EFFECTIVE_DATE, OLD_TO_NEW
from vietnam_provinces.legacy import District as OldDistrict
from vietnam_provinces.legacy import Province as OldProvince
from vietnam_provinces.legacy import Ward as OldWard

from app.core.errors import Invalid, field_error
from app.core.text import fold

# Codes of the conversion table that name no old commune (mistyped, or of wards renumbered in
# the district's last merger), each taken for the one commune of the same old district that the
# table otherwise leaves out: in these four districts they pair one to one, each pair differing
# in one digit or two swapped ones. Table code → old code.
CODE_CORRECTIONS: dict[int, int] = {
    26929: 26935,  # Phường 14, Quận Bình Thạnh → Phường Bình Thạnh
    26953: 26959,  # Phường 19, Quận Bình Thạnh → Phường Thạnh Mỹ Tây
    27076: 27067,  # Phường 15, Quận Phú Nhuận → Phường Cầu Kiệu / Phường Phú Nhuận
    27226: 27217,  # Phường 11, Quận 11 → Phường Phú Thọ
    27232: 27223,  # Phường 10, Quận 11 → Phường Bình Thới
    27367: 27361,  # Phường 2, Quận 6 → Phường Bình Tây
    27373: 27379,  # Phường 1, Quận 6 → Phường Bình Tiên
}
# Codes of the conversion table for Mộc Châu that no old commune has; which of the three old
# communes the table leaves out there (Tân Hợp, Qui Hướng, Tà Lai) each would be, nothing in
# the data says, so they are left out and those communes answer `unmapped`.
UNMATCHED_TABLE_CODES: frozenset[int] = frozenset({3980, 3983, 3984})
# Old communes the conversion table says nothing about. Their people are placed by the new
# code (or the village) the commune office gives.
UNMAPPED_OLD_CODES: frozenset[str] = frozenset(
    {
        "01651",  # Xã Mỹ Hưng, Huyện Quảng Hòa, Cao Bằng
        "02482",  # Xã Phú Thịnh, Huyện Yên Sơn, Tuyên Quang
        "03751",  # Xã Chiềng Ly, Huyện Thuận Châu, Sơn La
        "03898",  # Thị trấn Phù Yên, Sơn La
        "03913",  # Xã Huy Bắc, Huyện Phù Yên, Sơn La
        "03988",  # Xã Tân Hợp, Huyện Mộc Châu, Sơn La
        "03991",  # Xã Qui Hướng, Huyện Mộc Châu, Sơn La
        "04003",  # Xã Tà Lai, Huyện Mộc Châu, Sơn La
        "04060",  # Thị trấn Yên Châu, Sơn La
        "07693",  # Xã Tân An, Thành phố Bắc Giang
        "07732",  # Xã Nham Sơn, Thành phố Bắc Giang
        "07744",  # Xã Thắng Cương, Thành phố Bắc Giang
        "16387",  # Xã Đông Khê, Thành phố Thanh Hóa
        "16411",  # Xã Đông Xuân, Thành phố Thanh Hóa
        "18448",  # Xã Bình Lộc, Huyện Thạch Hà, Hà Tĩnh
        "20176",  # Xã Hương Hòa, Huyện Phú Lộc, Thừa Thiên Huế
        "20674",  # Xã Quế Phước, Huyện Quế Sơn, Quảng Nam
        "25102",  # Xã Đạ M'ri, Huyện Đạ Huoai, Lâm Đồng
        "25174",  # Xã Mỹ Lâm, Huyện Đạ Huoai, Lâm Đồng
        "25177",  # Xã Tư Nghĩa, Huyện Đạ Huoai, Lâm Đồng
        "25186",  # Xã Phù Mỹ, Huyện Đạ Huoai, Lâm Đồng
    }
)
DATA_DATE = EFFECTIVE_DATE


class Went(StrEnum):
    """How an old commune went into the new map."""

    WHOLE = "whole"  # all of it into one new commune
    SPLIT = "split"  # in parts, to the new communes listed (and maybe elsewhere)
    UNMAPPED = "unmapped"  # the conversion table does not say


@dataclass(frozen=True)
class NewCommuneRef:
    code: str
    name: str
    division_type: str
    province_code: str
    province_name: str

    def label(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class LegacyCommune:
    code: str
    name: str
    division_type: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str
    went: Went
    new_communes: tuple[NewCommuneRef, ...]
    # The name, the district's and the province's, folded, for search.
    folded: str
    name_folded: str

    def candidates(self) -> str:
        return ", ".join(c.label() for c in self.new_communes)


def _code(value: Any, width: int) -> str:
    return f"{int(value):0{width}d}"


@functools.cache
def _units() -> dict[str, LegacyCommune]:
    """Every old commune by its code; built once per process (about 10,000)."""
    provinces = {int(p.code): p for p in OldProvince.iter_all()}
    districts = {int(d.code): d for d in OldDistrict.iter_all()}
    new_wards = {int(w.code): w for w in NewWard.iter_all()}
    new_province_names = {int(p.code): p.name for p in NewProvince.iter_all()}
    targets: dict[int, tuple[bool, tuple[int, ...]]] = {}
    for table_code, entry in OLD_TO_NEW.items():
        if table_code in UNMATCHED_TABLE_CODES:
            continue
        old_code = CODE_CORRECTIONS.get(table_code, table_code)
        # The table's own province of an old commune is sometimes wrong (a ward of Tân An
        # under 82, one of Hà Tiên under 89); the old district says which it was.
        targets[old_code] = (
            entry.old_ward.is_partly_merged,
            tuple(ward.code for ward in entry.new_wards),
        )
    units: dict[str, LegacyCommune] = {}
    for ward in OldWard.iter_all():
        district = districts[int(ward.district_code)]
        province = provinces[int(district.province_code)]
        partly, new_codes = targets.get(int(ward.code), (False, ()))
        refs = tuple(
            NewCommuneRef(
                code=_code(c, 5),
                name=new_wards[c].name,
                division_type=str(new_wards[c].division_type.value),
                province_code=_code(new_wards[c].province_code, 2),
                province_name=new_province_names[int(new_wards[c].province_code)],
            )
            for c in new_codes
        )
        if not refs:
            went = Went.UNMAPPED
        elif len(refs) == 1 and not partly:
            went = Went.WHOLE
        else:
            went = Went.SPLIT
        code = _code(ward.code, 5)
        units[code] = LegacyCommune(
            code=code,
            name=ward.name,
            division_type=str(ward.division_type.value),
            district_code=_code(district.code, 3),
            district_name=district.name,
            province_code=_code(province.code, 2),
            province_name=province.name,
            went=went,
            new_communes=refs,
            folded=fold(f"{ward.name} {district.name} {province.name}"),
            name_folded=fold(ward.name),
        )
    return units


def get(code: str) -> LegacyCommune | None:
    """The old commune of that code, or None."""
    return _units().get(code)


def all_communes() -> Iterable[LegacyCommune]:
    return _units().values()


def search(query: str | None, *, province_code: str | None = None) -> list[LegacyCommune]:
    """Old communes whose name, district or province hold every word of `query` (each word
    starting a word), accents aside; those matched by their own name first, then by code."""
    words = fold(query or "").split()
    found = []
    for unit in _units().values():
        if province_code is not None and unit.province_code != province_code:
            continue
        spaced = f" {unit.folded}"
        if all(f" {word}" in spaced for word in words):
            own = f" {unit.name_folded}"
            found.append((0 if all(f" {w}" in own for w in words) else 1, unit.code, unit))
    found.sort(key=lambda item: (item[0], item[1]))
    return [unit for _, _, unit in found]


def lookup_url(code: str) -> str:
    return f"/api/v1/legacy/communes/{code}"


@functools.cache
def _new_codes() -> frozenset[str]:
    return frozenset(_code(w.code, 5) for w in NewWard.iter_all())


def old_only(code: str) -> LegacyCommune | None:
    """The old commune of a code that names no commune of the new map, or None."""
    return None if code in _new_codes() else get(code)


def pointer(code: str) -> dict[str, str]:
    """A problem's member pointing a code of the old map only to its look-up."""
    return {"legacy_commune": lookup_url(code)} if old_only(code) is not None else {}


def settle(
    field: str,
    old_code: str,
    *,
    new_code: str | None = None,
    district: str | None = None,
    name: str | None = None,
) -> str:
    """The new commune code a record giving old code `old_code` belongs to.

    An old commune that went whole into one new commune gives that one. One split between
    several (or gone in part) is placed only by the new code the record also gives, when it
    is one of them; otherwise the record is refused naming the candidates. The old district
    or name, when given, must be the old commune's (accents and case aside): a mistyped code
    must not file people elsewhere. Raises `Invalid` (a field problem on `field`).
    """
    unit = get(old_code)
    if unit is None:
        raise _invalid(field, "legacy.unknown", old=old_code)
    if district is not None and not _same_place(district, unit.district_name):
        raise _invalid(
            field, "legacy.district_mismatch", old=old_code, where=_where(unit), given=district
        )
    if name is not None and not _same_place(name, unit.name):
        raise _invalid(field, "legacy.name_mismatch", old=old_code, where=_where(unit), given=name)
    targets = [c.code for c in unit.new_communes]
    if new_code is not None:
        if new_code in targets or unit.went is Went.UNMAPPED:
            return new_code
        raise _invalid(
            field,
            "legacy.mismatch",
            unit,
            old=old_code,
            new=new_code,
            candidates=unit.candidates(),
        )
    if unit.went is Went.WHOLE:
        return targets[0]
    if unit.went is Went.UNMAPPED:
        raise _invalid(field, "legacy.unmapped", old=old_code, where=_where(unit))
    raise _invalid(
        field, "legacy.split", unit, old=old_code, where=_where(unit), candidates=unit.candidates()
    )


def _where(unit: LegacyCommune) -> str:
    return f"{unit.name}, {unit.district_name}, {unit.province_name}"


def _same_place(given: str, name: str) -> bool:
    kinds = {"xa", "phuong", "thi", "tran", "huyen", "quan", "thanh", "pho", "tp", "tx", "q", "h"}

    def core(text: str) -> list[str]:
        words = fold(text.replace(".", " ")).split()
        while len(words) > 1 and words[0] in kinds:
            words = words[1:]
        return words

    return core(given) == core(name)


def _invalid(field: str, key: str, unit: LegacyCommune | None = None, **params: object) -> Invalid:
    extra: dict[str, Any] = {}
    if unit is not None:
        extra["candidates"] = [
            {"code": c.code, "name": c.name, "province_code": c.province_code}
            for c in unit.new_communes
        ]
    return Invalid("validation.detail", errors=[field_error(field, key, **params)], extra=extra)


def unknown_commune(field: str, code: str) -> Invalid:
    """The field problem of a commune code the new map does not have; one of the old map
    only says so and points to its look-up."""
    if old_only(code) is None:
        return Invalid("validation.detail", errors=[field_error(field, "commune.unknown")])
    return Invalid(
        "validation.detail",
        errors=[field_error(field, "commune.old_code_only", code=code)],
        extra=pointer(code),
    )
