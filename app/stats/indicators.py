"""The indicators: which running totals make each numerator and denominator."""

from dataclasses import dataclass
from enum import StrEnum

from app.ledger import contributions as c


class Indicator(StrEnum):
    adults_certified = "adults_certified"
    adults_vneid_confirmed = "adults_vneid_confirmed"
    officials_trained = "officials_trained"
    officials_trained_commune = "officials_trained_commune"
    officials_trained_province = "officials_trained_province"
    pupils_equipped = "pupils_equipped"
    workers_trained = "workers_trained"


@dataclass(frozen=True)
class Definition:
    indicator: Indicator
    numerator: str  # running-total metric
    registered: str  # metric used as denominator when there is no baseline
    baseline: str | None  # Baseline column, if statistics offices publish one
    title_vi: str
    title_en: str


DEFINITIONS = (
    Definition(
        Indicator.adults_certified,
        c.CERT_ADULTS,
        c.REG_ADULTS,
        "adults",
        "Người trưởng thành đạt chuẩn kỹ năng số",
        "Adults certified",
    ),
    Definition(
        Indicator.adults_vneid_confirmed,
        c.VNEID_ADULTS,
        c.REG_ADULTS,
        "adults",
        "Người trưởng thành được xác nhận trên VNeID",
        "Adults confirmed on VNeID",
    ),
    Definition(
        Indicator.officials_trained,
        c.DONE["official"],
        c.REG["official"],
        "officials",
        "Cán bộ, công chức, viên chức được đào tạo",
        "Officials trained",
    ),
    Definition(
        Indicator.officials_trained_commune,
        c.DONE["official"] + c.LEVEL_SUFFIX["commune"],
        c.REG["official"] + c.LEVEL_SUFFIX["commune"],
        None,
        "Cán bộ, công chức cấp xã được đào tạo",
        "Commune-level officials trained",
    ),
    Definition(
        Indicator.officials_trained_province,
        c.DONE["official"] + c.LEVEL_SUFFIX["province"],
        c.REG["official"] + c.LEVEL_SUFFIX["province"],
        None,
        "Cán bộ, công chức cấp tỉnh được đào tạo",
        "Province-level officials trained",
    ),
    Definition(
        Indicator.pupils_equipped,
        c.DONE["pupil"],
        c.REG["pupil"],
        "pupils",
        "Học sinh, sinh viên được trang bị kỹ năng số",
        "Pupils equipped",
    ),
    Definition(
        Indicator.workers_trained,
        c.DONE["worker"],
        c.REG["worker"],
        "workers",
        "Người lao động được đào tạo kỹ năng số",
        "Workers trained",
    ),
)
BY_INDICATOR = {d.indicator: d for d in DEFINITIONS}
