"""UTC helpers: SQLite hands datetimes back without their offset."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime | None) -> datetime | None:
    """``moment`` with its UTC offset (SQLite stores UTC and forgets the offset)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None
