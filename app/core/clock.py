"""Vietnam's clock: UTC+07:00 all year, no daylight saving.

Instants are stored in UTC; the calendar day of a record, today's date and dates given without
a zone are Vietnam's.
"""

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def vietnam_today(now: datetime | None = None) -> date:
    """Today's date in Vietnam."""
    return (now or datetime.now(UTC)).astimezone(VIETNAM).date()


def local_date(moment: datetime) -> date:
    """The calendar day in Vietnam of a stored instant (a naive one is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).date()
