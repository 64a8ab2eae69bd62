"""Answering a calendar feed request over a real (SQLite) replica: a 304 is found without the
feed being read or written, an unchanged feed is answered as it was kept, a changed one writes
only its changed events, and what is kept stays within its budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import eventlet
import pytest
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess
from services.sync import calendar, calendar_records, calendar_state, feed
from services.sync.calendar_feeds import FeedCache, answer
from tests.unit.sync.test_calendar import (
    ADDRESSES,
    ALICE,
    BRUNO,
    NOW,
    POMME,
    _apply,
    _interaction,
    _participant,
    calendar_replica,
)
from tests.unit.sync.test_calendar_state import scripted_changes

WINDOW = calendar_records.FeedWindow()
OWNER = {"org_id": POMME, "user_id": ALICE}


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from calendar_replica(tmp_path)


@pytest.fixture
def db(session: Session) -> Iterator[DatabaseAccess]:
    for day in range(1, 21):
        participants = [_participant(BRUNO, "confirmed")] if day % 4 == 0 else []
        start = f"2026-10-{day:02d}T08:30:00+00:00"
        _apply(
            session, feed.apply_interaction, _interaction(f"i-{day:02d}", start, participants=participants)
        )
    yield DatabaseAccess(session.get_bind(), relay=None)


@pytest.fixture
def written(monkeypatch) -> list[str]:
    """The interactions icalendar was asked to write, in order."""
    calls: list[str] = []
    event_of = calendar.event_of

    def counting(interaction, *args):
        calls.append(interaction["id"])
        return event_of(interaction, *args)

    monkeypatch.setattr(calendar, "event_of", counting)
    return calls


def _ask(cache: FeedCache, db: DatabaseAccess, if_none_match: str | None = None, now=NOW) -> dict:
    return answer(cache, db, OWNER, now, WINDOW, ADDRESSES, if_none_match)


def _written_now(db: DatabaseAccess, now=NOW) -> str:
    with db.read() as session:
        return calendar.calendar_text(
            calendar_records.feed_records(session, POMME, ALICE, now, WINDOW), ADDRESSES
        )


def _tag_now(db: DatabaseAccess, now=NOW) -> str:
    with db.read() as session:
        settings = calendar_state.feed_settings(WINDOW, ADDRESSES)
        return calendar_state.feed_state(session, POMME, ALICE, now, WINDOW, settings).tag


def test_a_304_is_found_without_reading_or_writing_the_feed(db, session, written, monkeypatch):
    cache = FeedCache(10_000_000)
    first = _ask(cache, db)
    assert first["body"] == _written_now(db)

    def refused(*_args):
        raise AssertionError("the feed was read")

    monkeypatch.setattr(calendar_records, "feed_records", refused)
    written.clear()
    assert _ask(cache, db, first["etag"]) == {"etag": first["etag"], "not_modified": True}
    # A change elsewhere in the organisation: the ETag is read again, still without the feed.
    _apply(
        session, feed.apply_interaction, _interaction("i-brunos", "2026-10-03T12:00:00+00:00", owner_id=BRUNO)
    )
    assert _ask(cache, db, first["etag"]) == {"etag": first["etag"], "not_modified": True}
    # Another process (nothing kept): the same ETag, still a 304.
    assert _ask(FeedCache(10_000_000), db, f'"other", W/{first["etag"]}')["not_modified"]
    assert written == []


def test_an_unchanged_feed_asked_without_its_etag_is_answered_as_it_was_kept(db, written):
    cache = FeedCache(10_000_000)
    first = _ask(cache, db)
    written.clear()

    again = _ask(cache, db, '"an-old-one"')
    # The gateway that keeps this body is told so, and gets no body.
    held = answer(FeedCache(10_000_000), db, OWNER, NOW, WINDOW, ADDRESSES, '"old"', first["etag"])
    stale = answer(cache, db, OWNER, NOW, WINDOW, ADDRESSES, None, '"old"')

    assert again == first
    assert held == {"etag": first["etag"], "held": True}
    assert stale == first
    assert written == []


def test_a_changed_feed_is_written_again_from_its_kept_events_but_the_changed_one(db, session, written):
    cache = FeedCache(10_000_000)
    first = _ask(cache, db)
    assert len(written) == 20
    written.clear()
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-07", "2026-10-07T08:30:00+00:00", subject="Livraison reportée", version=2),
    )

    changed = _ask(cache, db, first["etag"])

    assert written == ["i-07"]
    assert changed["etag"] != first["etag"]
    assert changed["body"] == _written_now(db)
    assert "SUMMARY:Livraison reportée" in changed["body"]


def test_a_feed_written_again_in_part_is_the_feed_written_whole_after_every_kind_of_change(
    db, session, monkeypatch
):
    parts = []
    read = calendar_records.feed_records
    monkeypatch.setattr(
        calendar_records, "feed_records", lambda *args: parts.append(args[5:] != (None,)) or read(*args)
    )
    # Beyond the window's end (1 October 2027) until the window moves on.
    _apply(session, feed.apply_interaction, _interaction("i-far", "2027-10-10T08:30:00+00:00"))
    cache = FeedCache(10_000_000)
    moments = [NOW + timedelta(days=days) for days in (0, 3, 95, 110)]
    steps = [(name, change, NOW) for name, change in scripted_changes(session)]
    steps += [(f"{moment:%d %B}", lambda: None, moment) for moment in moments]
    answer(cache, db, OWNER, NOW, WINDOW, ADDRESSES, None)

    for name, change, moment in steps:
        change()
        answered = answer(cache, db, OWNER, moment, WINDOW, ADDRESSES, '"elsewhere"')
        assert answered["body"] == _written_now(db, moment), name
        # The ETag read in part is the one another process reads whole.
        assert answered["etag"] == _tag_now(db, moment), name
        body = answered["body"]
    assert "i-far@" in body and "i-01@" not in body

    # Written in part after each change but the renames and the type's (names are everywhere).
    assert parts.count(False) == 1 + 4
    assert parts.count(True) >= 10


def test_the_window_moving_over_an_interaction_is_a_new_feed(db, written):
    cache = FeedCache(10_000_000)
    first = _ask(cache, db)
    later = NOW + timedelta(days=WINDOW.past_days, hours=1)  # 1 October has left the window

    moved = _ask(cache, db, first["etag"], now=later)

    assert moved["etag"] != first["etag"]
    assert moved["body"] == _written_now(db, later)
    assert "i-01@" not in moved["body"] and "i-02@" in moved["body"]


def test_workers_asking_for_the_same_changed_feed_at_once_read_and_write_it_once(db, written, monkeypatch):
    monkeypatch.setattr(calendar, "PAUSE_EVERY", 5)  # the others run while one writes
    reads = []
    read = calendar_records.feed_records
    monkeypatch.setattr(calendar_records, "feed_records", lambda *args: reads.append(1) or read(*args))
    cache = FeedCache(10_000_000)
    pool = eventlet.GreenPool()
    answers = [
        pool.spawn(answer, cache, db, OWNER, NOW, WINDOW, ADDRESSES, None, None, eventlet.sleep)
        for _ in range(3)
    ]

    bodies = {a.wait()["body"] for a in answers}

    assert len(reads) == 1
    assert sorted(written) == [f"i-{day:02d}" for day in range(1, 21)]
    assert bodies == {_written_now(db)}


def test_what_a_process_keeps_stays_within_its_budget(db, written):
    roomy = FeedCache(10_000_000)
    alices = _ask(roomy, db)["body"]
    alices_size = roomy.bodies.get(ALICE).size()  # her text, her events' places and her ETag's lines
    bruno = {"org_id": POMME, "user_id": BRUNO}
    written.clear()

    feeds = FeedCache(2 * (alices_size + 500))  # half for feeds: Alice's, or Bruno's, not both
    _ask(feeds, db)
    assert feeds.bodies.get(ALICE) is not None
    answer(feeds, db, bruno, NOW, WINDOW, ADDRESSES, None)
    assert feeds.bodies.get(ALICE) is None and feeds.bodies.get(BRUNO) is not None
    assert feeds.bodies.used <= feeds.bodies.budget

    written.clear()
    events = FeedCache(2 * (len(alices) + 3_000))
    _ask(events, db)
    answer(events, db, bruno, NOW, WINDOW, ADDRESSES, None)
    # Alice's 20 events and Bruno's 5 (in his zone) do not all fit in the other half.
    assert len(written) == 25
    assert 0 < len(events.events) < 25 and events.events.used <= events.events.budget


def test_a_state_read_later_does_not_hold_for_a_clock_put_back(db):
    cache = FeedCache(10_000_000)
    first = _ask(cache, db)
    _ask(cache, db, None, NOW + timedelta(days=WINDOW.past_days, hours=1))

    assert _ask(cache, db, first["etag"]) == {"etag": first["etag"], "not_modified": True}
