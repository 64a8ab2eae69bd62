"""The clock and UTC time: ``utcnow``, ``aware``, ``iso``, range bounds and the ``UtcDateTime`` column type.

Every stored and sent time is UTC (ISO 8601 with ``+00:00``). SQLite keeps no
offset and hands datetimes back naive; ``UtcDateTime`` columns and ``aware``
put the offset back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

_NO_OFFSET = timedelta(0)


def utcnow() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """``moment`` with its UTC offset (SQLite stores UTC and forgets the offset)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive ``moment`` is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.utcoffset() == _NO_OFFSET else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (``+00:00``), whatever offset ``moment`` carries."""
    return None if moment is None else as_utc(moment).isoformat()


def range_start(since: date) -> datetime:
    """Where a range given by ``since`` begins: a day at its 00:00 UTC, a date-time at that instant."""
    return as_utc(since) if isinstance(since, datetime) else datetime.combine(since, time.min, UTC)


def range_end(until: date) -> datetime:
    """Where a range given by ``until`` ends (excluded): a day is included whole (up to the next
    day's 00:00 UTC), a date-time is that instant."""
    if isinstance(until, datetime):
        return as_utc(until)
    return datetime.combine(until + timedelta(days=1), time.min, UTC)


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and read back with its offset, on SQLite as on PostgreSQL.

    SQLite keeps no offset: 09:00+01:00 would be stored as 09:00 and read back as
    09:00 UTC. Values are turned to UTC before they are stored (naive ones are
    taken as UTC) and come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return aware(value)
