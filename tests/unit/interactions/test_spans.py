"""Span arithmetic: whole days, the time an interaction takes, the window of a range of days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from crm.errors import InvalidInput
from services.interactions.spans import MAX_DAYS, day_window, span, whole_days

PARIS = timezone(timedelta(hours=1))


def test_an_all_day_interaction_takes_the_days_its_writer_meant():
    start, end = whole_days(
        datetime(2026, 12, 1, 9, 30, tzinfo=PARIS), datetime(2026, 12, 3, 17, tzinfo=PARIS), True
    )
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=PARIS), datetime(2026, 12, 3, tzinfo=PARIS))


def test_an_interaction_at_a_time_keeps_its_times():
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=PARIS)
    assert whole_days(moment, None, False) == (moment, None)


def test_an_open_ended_interaction_takes_an_hour_and_an_all_day_one_its_whole_days():
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    meeting = SimpleNamespace(start_at=start, end_at=None, all_day=False)
    assert span(meeting) == (start, start + timedelta(hours=1))
    salon = SimpleNamespace(start_at=datetime(2026, 12, 1), end_at=datetime(2026, 12, 2), all_day=True)
    assert span(salon) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC))


def test_a_range_of_days_is_utc_from_the_first_midnight_to_the_one_after_the_last_day():
    assert day_window(date(2026, 12, 1), date(2026, 12, 31)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "until", [date(2026, 11, 30), date(2026, 12, 1) + timedelta(days=MAX_DAYS)], ids=["before", "too long"]
)
def test_a_range_that_ends_before_it_starts_or_is_too_long_is_refused_naming_until(until):
    with pytest.raises(InvalidInput) as refused:
        day_window(date(2026, 12, 1), until)
    assert refused.value.errors[0]["field"] == "until"


def test_a_range_of_date_times_runs_from_the_first_instant_to_the_second_in_utc():
    assert day_window(datetime(2026, 12, 1, 8, tzinfo=PARIS), datetime(2026, 12, 1, 18, tzinfo=PARIS)) == (
        datetime(2026, 12, 1, 7, tzinfo=UTC),
        datetime(2026, 12, 1, 17, tzinfo=UTC),
    )
    assert day_window(date(2026, 12, 1), datetime(2026, 12, 1, 12, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 1, 12, tzinfo=UTC),
    )


def test_a_range_of_date_times_that_ends_where_it_starts_is_refused_naming_until():
    moment = datetime(2026, 12, 1, 9, tzinfo=PARIS)
    with pytest.raises(InvalidInput) as refused:
        day_window(moment, moment)
    assert refused.value.errors[0]["field"] == "until"
