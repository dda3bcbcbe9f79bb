"""Progress over time: cumulative monthly values of every indicator at a unit."""

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.ledger.models import StatTotal
from app.stats.indicators import DEFINITIONS
from app.stats.schemas import Series, SeriesPoint, Timeseries
from app.stats.service import UnitRef, baselines


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from `start`'s month to `end`'s, the last one being `end`."""
    points = []
    year, month = start.year, start.month
    while (year, month) < (end.year, end.month):
        following = date(year + (month == 12), month % 12 + 1, 1)
        points.append(following - timedelta(days=1))
        year, month = following.year, following.month
    points.append(end)
    return points


def timeseries(session: Session, *, unit: UnitRef, start: date, end: date) -> Timeseries:
    """Cumulative values at each month's end, from one query over the unit's dated totals."""
    statement = (
        select(col(StatTotal.metric), col(StatTotal.effective_on), func.sum(StatTotal.count))
        .where(StatTotal.level == unit.level, StatTotal.unit_code == unit.code)
        .where(col(StatTotal.effective_on) <= end)
        .group_by(col(StatTotal.metric), col(StatTotal.effective_on))
    )
    dated: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for metric, day, total in session.exec(statement).all():
        dated[metric].append((day, int(total or 0)))
    points = month_ends(start, end)
    values: dict[str, list[int]] = {}
    for metric, rows in dated.items():
        rows.sort()
        running, index, series = 0, 0, []
        for point in points:
            while index < len(rows) and rows[index][0] <= point:
                running += rows[index][1]
                index += 1
            series.append(running)
        values[metric] = series
    yearly = {
        year: baselines(session, unit=unit, year=year).get(unit.code)
        for year in {p.year for p in points}
    }
    result = []
    for definition in DEFINITIONS:
        numerators = values.get(definition.numerator, [0] * len(points))
        registered = values.get(definition.registered, [0] * len(points))
        series_points = []
        for i, point in enumerate(points):
            baseline = yearly[point.year]
            if baseline is not None and definition.baseline is not None:
                denominator, source = baseline[definition.baseline], "baseline"
            else:
                denominator, source = registered[i], "registered"
            series_points.append(
                SeriesPoint(
                    date=point,
                    numerator=numerators[i],
                    denominator=denominator,
                    denominator_source=source,
                    rate=numerators[i] / denominator if denominator else None,
                )
            )
        result.append(Series(indicator=definition.indicator, points=series_points))
    return Timeseries(unit=unit.public(), series=result)
