"""Recomputing the running totals from the raw records, and proving they agree."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from app.certificates.models import Certificate
from app.learners.models import Learner
from app.stats import totals
from app.stats.models import StatTotal

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
    """Every total row, computed learner by learner from learners and certificates."""
    totals.forget_counting_rules(session)
    satisfying = totals.satisfying_programs(session)
    age = totals.adult_age(session)
    expected: Counter[totals.RowKey] = Counter()
    last = None
    while True:
        statement = select(Learner).order_by(col(Learner.id)).limit(BATCH)
        if last is not None:
            statement = statement.where(col(Learner.id) > last)
        learners = session.exec(statement).all()
        if not learners:
            break
        certificates: dict[object, list[Certificate]] = defaultdict(list)
        for certificate in session.exec(
            select(Certificate).where(col(Certificate.learner_id).in_([x.id for x in learners]))
        ).all():
            certificates[certificate.learner_id].append(certificate)
        for learner in learners:
            expected.update(
                totals.rows_for(learner, certificates[learner.id], satisfying=satisfying, age=age)
            )
        last = learners[-1].id
        session.expunge_all()
    return Counter({key: value for key, value in expected.items() if value})


def compare(session: Session) -> Comparison:
    """Stored totals against the ones the raw records give."""
    return _compare(session, expected_totals(session))


def _compare(session: Session, expected: Counter[totals.RowKey]) -> Comparison:
    stored = {
        (row.level, row.unit_code, row.metric, row.effective_on): row.count
        for row in session.exec(select(StatTotal)).all()
        if row.count
    }
    result = Comparison(expected_rows=len(expected), stored_rows=len(stored))
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key, 0) != stored.get(key, 0):
            result.differences.append((key, expected.get(key, 0), stored.get(key, 0)))
    return result


def rebuild(session: Session) -> Comparison:
    """Replace the stored totals with the recomputed ones; returns what differed before.

    The counting rules are held still meanwhile (on PostgreSQL), so a change to a program
    cannot land halfway through.
    """
    totals.hold_counting_rules(session)
    expected = expected_totals(session)
    comparison = _compare(session, expected)
    session.execute(delete(StatTotal))
    rows = [
        {"level": level, "unit_code": unit, "metric": metric, "effective_on": day, "count": n}
        for (level, unit, metric, day), n in expected.items()
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(StatTotal), rows[start : start + BATCH])
    session.flush()
    return comparison
