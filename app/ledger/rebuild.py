"""Recomputing the running totals from the raw records, and proving they agree."""

import uuid
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import bindparam, delete, insert
from sqlmodel import Session, col

from app.learners.models import Learner
from app.ledger import rules, totals
from app.ledger.contributions import contributions
from app.ledger.models import StatTotal
from app.ledger.versions import EVERYTHING, raise_versions

BATCH = 5_000


@dataclass
class Comparison:
    expected_rows: int = 0
    stored_rows: int = 0
    differences: list[tuple[totals.RowKey, int, int]] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.differences


def expected_totals(session: Session) -> Counter[totals.RowKey]:
    """Every total row, computed learner by learner from learners and certificates, each by
    the rules it is counted by (a recount under way has moved some to new rules)."""
    rules.forget_counting_rules(session)
    age = totals.adult_age(session)
    expected: Counter[totals.RowKey] = Counter()
    last = uuid.UUID(int=0)  # before every id
    while True:
        ids = [row[0] for row in session.execute(_LEARNER_IDS, {"last": last})]
        if not ids:
            break
        for learner_id, person, certificates, units in totals.counted_people(session, ids):
            satisfying = rules.rules_for(session, learner_id)
            own = contributions(person, certificates, satisfying=satisfying, adult_age=age)
            expected.update(totals.spread(own, units))
        last = ids[-1]
    return Counter({key: value for key, value in expected.items() if value})


_LEARNER_IDS = (
    sa.select(col(Learner.id))
    .where(col(Learner.id) > bindparam("last"))
    .order_by(col(Learner.id))
    .limit(BATCH)
)
_STORED = sa.select(
    col(StatTotal.level),
    col(StatTotal.unit_code),
    col(StatTotal.metric),
    col(StatTotal.effective_on),
    col(StatTotal.count),
).where(col(StatTotal.count) != 0)


def compare(session: Session) -> Comparison:
    """Stored totals against the ones the raw records give."""
    return _compare(session, expected_totals(session))


def _compare(session: Session, expected: Counter[totals.RowKey]) -> Comparison:
    stored = {
        (level, unit, metric, day): n for level, unit, metric, day, n in session.execute(_STORED)
    }
    result = Comparison(expected_rows=len(expected), stored_rows=len(stored))
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key, 0) != stored.get(key, 0):
            result.differences.append((key, expected.get(key, 0), stored.get(key, 0)))
    return result


def rebuild(session: Session) -> Comparison:
    """Replace the stored totals with the recomputed ones; returns what differed before.

    The counting rules are held still meanwhile (on PostgreSQL), so neither a change to a
    program nor a batch of its recount can land halfway through.
    """
    rules.hold_counting_rules(session)
    expected = expected_totals(session)
    comparison = _compare(session, expected)
    session.execute(delete(StatTotal))
    rows = [
        {"level": level, "unit_code": unit, "metric": metric, "effective_on": day, "count": n}
        for (level, unit, metric, day), n in expected.items()
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(StatTotal), rows[start : start + BATCH])
    raise_versions(session, [EVERYTHING])
    session.flush()
    return comparison
