"""What one learner adds to the running totals: a pure function of that learner's records.

A person starts counting in a metric on the day every condition holds (registered, adult,
holding a valid certificate, …) and stops on the day one ceases (a revocation). A certificate
counts from the day its standard was met, and its holder as registered from then too when
entered later. Because aging into adulthood is just another start date, the value of any
metric on any day is a prefix sum over dated rows, for every unit, with no scan of learners.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

# Metrics kept as running totals.
REG_ADULTS = "reg_adults"
CERT_ADULTS = "cert_adults"
VNEID_ADULTS = "vneid_adults"
REG = {"official": "reg_official", "pupil": "reg_pupil", "worker": "reg_worker"}
DONE = {"official": "trained_official", "pupil": "equipped_pupil", "worker": "trained_worker"}
LEVEL_SUFFIX = {"commune": "_commune", "province": "_province"}

Key = tuple[str, date]  # (metric, effective date)


def adult_since(birth_date: date, adult_age: int) -> date:
    """The first day the person is `adult_age` years old (29 February → 1 March)."""
    try:
        return birth_date.replace(year=birth_date.year + adult_age)
    except ValueError:
        return date(birth_date.year + adult_age, 3, 1)


@dataclass(frozen=True)
class LearnerFacts:
    birth_date: date
    registered_on: date
    groups: frozenset[str]
    official_level: str | None


@dataclass(frozen=True)
class CertificateFacts:
    program_code: str
    # The day its holder met the standard, which may be before it was recorded.
    attained_on: date
    revoked_on: date | None
    delivered_on: date | None


def contributions(
    learner: LearnerFacts,
    certificates: Iterable[CertificateFacts],
    *,
    satisfying: Mapping[str, frozenset[str]],
    adult_age: int,
) -> Counter[Key]:
    """The dated +1/−1 rows this learner adds to every metric.

    `satisfying[group]` holds the programs whose certificate meets that group's standard.
    """
    rows: Counter[Key] = Counter()
    certificates = list(certificates)
    # Someone who met a standard before being entered was a learner from that day: a late
    # entry counts in the months the work was done, as registered and as certified.
    registered_on = min([learner.registered_on, *(c.attained_on for c in certificates)])
    adult_on = max(adult_since(learner.birth_date, adult_age), registered_on)
    rows[(REG_ADULTS, adult_on)] += 1

    citizen_programs = satisfying.get("citizen", frozenset())
    held = [c for c in certificates if c.program_code in citizen_programs]
    _add_intervals(rows, CERT_ADULTS, [(c.attained_on, c.revoked_on) for c in held], adult_on)
    delivered = [(c.delivered_on, c.revoked_on) for c in held if c.delivered_on is not None]
    _add_intervals(rows, VNEID_ADULTS, delivered, adult_on)

    for group, registered_metric in REG.items():
        if group not in learner.groups:
            continue
        metrics = [registered_metric]
        done_metrics = [DONE[group]]
        if group == "official" and learner.official_level in LEVEL_SUFFIX:
            metrics.append(registered_metric + LEVEL_SUFFIX[learner.official_level])
            done_metrics.append(DONE[group] + LEVEL_SUFFIX[learner.official_level])
        for metric in metrics:
            rows[(metric, registered_on)] += 1
        programs = satisfying.get(group, frozenset())
        intervals = [
            (c.attained_on, c.revoked_on) for c in certificates if c.program_code in programs
        ]
        for metric in done_metrics:
            _add_intervals(rows, metric, intervals, registered_on)
    return Counter({key: value for key, value in rows.items() if value})


def _add_intervals(
    rows: Counter[Key],
    metric: str,
    intervals: list[tuple[date, date | None]],
    not_before: date,
) -> None:
    """Count the person once over the union of [start, end) intervals, from `not_before` on."""
    for start, end in _union(intervals):
        start = max(start, not_before)
        if end is not None:
            end = max(end, not_before)
            if end <= start:
                continue
            rows[(metric, end)] -= 1
        rows[(metric, start)] += 1


def _union(intervals: list[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    merged: list[tuple[date, date | None]] = []
    for start, end in sorted(intervals, key=lambda i: i[0]):
        if end is not None and end <= start:
            continue
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                merged[-1] = (
                    last_start,
                    None if end is None or last_end is None else max(last_end, end),
                )
                continue
        merged.append((start, end))
    return merged
