"""crm.times: the clock, UTC offsets put back, ISO 8601 in UTC, UtcDateTime columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from crm.times import UtcDateTime, aware, iso, utcnow

PARIS_WINTER = timezone(timedelta(hours=1))


def test_the_clock_is_in_utc():
    assert utcnow().utcoffset() == timedelta(0)


def test_a_naive_time_is_taken_as_utc():
    assert aware(datetime(2026, 3, 2, 9, 0)) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_aware_time_and_none_are_kept():
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS_WINTER)
    assert aware(moment) is moment
    assert aware(None) is None


def test_iso_writes_utc_whatever_the_offset():
    assert iso(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS_WINTER)) == "2026-03-02T08:00:00+00:00"
    assert iso(datetime(2026, 3, 2, 9, 0)) == "2026-03-02T09:00:00+00:00"
    assert iso(None) is None


def test_a_utc_datetime_column_keeps_the_instant_on_sqlite():
    metadata = MetaData()
    meetings = Table("meetings", metadata, Column("id", Integer, primary_key=True), Column("at", UtcDateTime))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(meetings).values(id=1, at=datetime(2026, 3, 2, 9, 0, tzinfo=PARIS_WINTER)))
        stored = connection.scalar(select(meetings.c.at))
    engine.dispose()
    assert stored == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
