"""Span arithmetic: the time an interaction takes, and the UTC window of a range of days.

Plain functions on datetimes, imported by the interactions, the agenda, the
resource bookings and the projects alike, so none of them imports another for it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from crm.errors import invalid
from crm.times import aware, range_end, range_start

# The longest range of days an agenda or a planning covers.
MAX_DAYS = 366


def whole_days(start: datetime, end: datetime | None, all_day: bool) -> tuple[datetime, datetime | None]:
    """An all-day interaction starts at midnight of its first day and its end is midnight of its
    last day, in the offset they were written with: the days its writer meant."""
    if not all_day:
        return start, end

    def midnight(moment: datetime) -> datetime:
        local = moment if moment.tzinfo is not None else aware(moment)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    return midnight(start), None if end is None else midnight(end)


def span(row: Any) -> tuple[datetime, datetime]:
    """The time an interaction takes: all-day ones their whole days (see ``whole_days``),
    open-ended ones an hour."""
    start = aware(row.start_at)
    end = aware(row.end_at) if row.end_at is not None else None
    if row.all_day:
        return start, (end or start) + timedelta(days=1)
    return start, end if end is not None and end > start else start + timedelta(hours=1)


def day_window(since: date, until: date) -> tuple[datetime, datetime]:
    """The UTC times from ``since`` to ``until``, at most ``MAX_DAYS`` days: a day is included
    whole, a date-time is that instant (``crm.times.range_start`` and ``range_end``)."""
    start, end = range_start(since), range_end(until)
    if end <= start:
        raise invalid("until", "is not after since")
    if end - start > timedelta(days=MAX_DAYS):
        raise invalid("until", f"the range may cover at most {MAX_DAYS} days")
    return start, end
