from collections import Counter
from datetime import date

from app.ledger.contributions import (
    CERT_ADULTS,
    REG_ADULTS,
    VNEID_ADULTS,
    CertificateFacts,
    LearnerFacts,
    adult_since,
    contributions,
)

SATISFYING = {"citizen": frozenset({"CITIZEN", "OFFICIAL"}), "official": frozenset({"OFFICIAL"})}


def _learner(birth: date, registered: date, *groups: str) -> LearnerFacts:
    level = "commune" if "official" in groups else None
    return LearnerFacts(birth, registered, frozenset({"citizen", *groups}), level)


def test_adulthood_starts_on_the_birthday_and_29_february_on_1_march() -> None:
    assert adult_since(date(2008, 5, 17), 18) == date(2026, 5, 17)
    assert adult_since(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert adult_since(date(2008, 2, 29), 16) == date(2024, 2, 29)


def test_a_minor_certified_now_counts_from_the_18th_birthday() -> None:
    rows = contributions(
        _learner(date(2010, 3, 2), date(2025, 9, 1)),
        [CertificateFacts("CITIZEN", date(2025, 10, 1), None, date(2025, 10, 2))],
        satisfying=SATISFYING,
        adult_age=18,
    )
    assert rows == Counter(
        {
            (REG_ADULTS, date(2028, 3, 2)): 1,
            (CERT_ADULTS, date(2028, 3, 2)): 1,
            (VNEID_ADULTS, date(2028, 3, 2)): 1,
        }
    )


def test_overlapping_certificates_count_once_and_revocation_ends_it() -> None:
    rows = contributions(
        _learner(date(1980, 1, 1), date(2025, 1, 1), "official"),
        [
            CertificateFacts("CITIZEN", date(2025, 2, 1), date(2025, 6, 1), None),
            CertificateFacts("OFFICIAL", date(2025, 5, 1), date(2025, 9, 1), None),
            CertificateFacts("CITIZEN", date(2025, 3, 1), date(2025, 3, 1), None),  # same day
        ],
        satisfying=SATISFYING,
        adult_age=18,
    )
    assert rows[(CERT_ADULTS, date(2025, 2, 1))] == 1
    assert rows[(CERT_ADULTS, date(2025, 9, 1))] == -1
    assert sum(v for (m, _), v in rows.items() if m == CERT_ADULTS) == 0
    assert rows[("trained_official", date(2025, 5, 1))] == 1
    assert rows[("trained_official_commune", date(2025, 9, 1))] == -1
    assert rows[("reg_official_commune", date(2025, 1, 1))] == 1
