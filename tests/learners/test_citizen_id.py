from datetime import date

import pytest

from app.core.citizen_id import mismatches, shape_ok


@pytest.mark.parametrize(
    "value",
    ["00108501234", "0010850123456", "00108501234a", "001 85012345", "００１０８５０１２３４５"],
)
def test_shape_requires_exactly_twelve_ascii_digits(value: str) -> None:
    assert not shape_ok(value)


def test_a_consistent_id_has_no_mismatch() -> None:
    assert mismatches("001085012345", birth_date=date(1985, 4, 12), sex="male") == []
    assert mismatches("079305000001", birth_date=date(2005, 1, 1), sex="female") == []
    assert mismatches("001199000001", birth_date=date(1999, 12, 31), sex="female") == []


@pytest.mark.parametrize(
    ("citizen_id", "birth_date", "sex", "expected"),
    [
        ("001185012345", date(1985, 4, 12), "male", ["citizen_id.century"]),  # female digit
        ("001285012345", date(1985, 4, 12), "male", ["citizen_id.century"]),  # 2000s digit
        ("001086012345", date(1985, 4, 12), "male", ["citizen_id.year"]),
        ("003085012345", date(1985, 4, 12), "male", ["citizen_id.province"]),  # no province 003
        ("999385012345", date(1985, 4, 12), "male", ["citizen_id.province", "citizen_id.century"]),
    ],
)
def test_mismatches_name_each_broken_rule(
    citizen_id: str, birth_date: date, sex: str, expected: list[str]
) -> None:
    assert mismatches(citizen_id, birth_date=birth_date, sex=sex) == expected
