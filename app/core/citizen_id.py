"""Rules of the 12-digit personal identification number (số định danh cá nhân)."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# Birth-registration province codes (digits 1–3). IDs issued before the 2025 merger carry the
# 63 former provinces' codes; the 34 current provinces kept codes from that same list.
PROVINCE_CODES = frozenset(
    f"{n:03d}"
    for n in (
        1,
        2,
        4,
        6,
        8,
        10,
        11,
        12,
        14,
        15,
        17,
        19,
        20,
        22,
        24,
        25,
        26,
        27,
        30,
        31,
        33,
        34,
        35,
        36,
        37,
        38,
        40,
        42,
        44,
        45,
        46,
        48,
        49,
        51,
        52,
        54,
        56,
        58,
        60,
        62,
        64,
        66,
        67,
        68,
        70,
        72,
        74,
        75,
        77,
        79,
        80,
        82,
        83,
        84,
        86,
        87,
        89,
        91,
        92,
        93,
        94,
        95,
        96,
    )
)

# Digit 4 encodes the birth century and sex: (century's first year, male digit, female digit).
CENTURY_DIGITS = {1900: (0, 1), 2000: (2, 3), 2100: (4, 5), 2200: (6, 7), 1800: (8, 9)}


def shape_ok(citizen_id: str) -> bool:
    return len(citizen_id) == 12 and citizen_id.isascii() and citizen_id.isdigit()


def mismatches(citizen_id: str, *, birth_date: date, sex: str) -> list[str]:
    """Message keys for every way a well-shaped ID disagrees with the person's data."""
    problems = []
    if citizen_id[:3] not in PROVINCE_CODES:
        problems.append("citizen_id.province")
    century = birth_date.year // 100 * 100
    male_digit, female_digit = CENTURY_DIGITS.get(century, (-1, -1))
    expected = male_digit if sex == "male" else female_digit
    if int(citizen_id[3]) != expected:
        problems.append("citizen_id.century")
    if citizen_id[4:6] != f"{birth_date.year % 100:02d}":
        problems.append("citizen_id.year")
    return problems


def _citizen_id(value: str) -> str:
    if not shape_ok(value):
        raise PydanticCustomError("citizen_id.shape", "The personal ID number must be 12 digits")
    return value


CitizenId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20),
    AfterValidator(_citizen_id),
    Field(description="Số định danh cá nhân, 12 chữ số / 12-digit personal ID number"),
]
