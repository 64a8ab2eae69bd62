"""Answering a calendar feed request cheaply: the ETag first (calendar_state.py), the body only
when the calendar app does not hold it, and then from what this process kept.

Each process keeps, within ``sync.calendar_cache_mb``:

- each user's ``FeedState`` (their ETag while the organisation's replica does not change);
- each user's last feed (``KeptFeed``): asked again unchanged, it is answered as it is; once
  the replica changed, only the interactions that changed or came into the window are read
  again (``calendar_state.patch_since``), for the ETag as for the text, and the others keep
  their place, line and text;
- each event's text under a key made of everything it shows (``calendar.event_key``): a feed
  written whole again (a new time zone, a renamed colleague) sends only the changed events
  through icalendar.

Nothing kept needs to be invalidated: a body is found only under the ETag of what it shows, an
event under the key of what it shows; a change makes new keys and the old entries age out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess
from crm.lru import Lru
from services.sync import calendar, calendar_records
from services.sync.calendar_state import (
    FeedState,
    Lines,
    feed_settings,
    not_modified,
    org_seq,
    patch_since,
    refreshed,
    state_of,
    window_lines,
)

# Users whose ETag a process keeps (a state is a few hundred bytes).
STATES = 10_000


@dataclass(frozen=True)
class KeptFeed:
    """A user's feed as written: its ETag, the organisation's ``seq`` of the snapshot it was
    read from, its events, what its ETag was made of and its text."""

    tag: str
    org_seq: int
    read_at: datetime
    shown: calendar.Shown
    lines: Lines
    body: str

    def size(self) -> int:
        return len(self.body) + 100 * len(self.shown) + 200 * len(self.lines)


class FeedCache:
    """What one process keeps of the feeds it answered (see the module's docstring)."""

    def __init__(self, characters: int):
        self.states: Lru[str, FeedState] = Lru(STATES)
        # Half the budget for whole bodies, half for the events they are made of.
        self.bodies: Lru[str, KeptFeed] = Lru(characters // 2, KeptFeed.size)
        self.events: Lru[bytes, calendar.EventText] = Lru(
            characters // 2, lambda event: len(event.text) + 100
        )
        self._writing: dict[str, tuple[Semaphore, int]] = {}

    @contextmanager
    def writing(self, user_id: str) -> Iterator[None]:
        """One worker at a time writes a user's feed; the others then find it written."""
        lock, waiting = self._writing.get(user_id, (Semaphore(), 0))
        self._writing[user_id] = (lock, waiting + 1)
        try:
            with lock:
                yield
        finally:
            lock, waiting = self._writing[user_id]
            if waiting == 1:
                del self._writing[user_id]
            else:
                self._writing[user_id] = (lock, waiting - 1)


class CalendarFeeds(DependencyProvider):
    """The process's ``FeedCache``, its size from ``sync.calendar_cache_mb``."""

    def setup(self) -> None:
        self.cache = FeedCache(self.container.config["CRM"].sync.calendar_cache_mb * 1_000_000)

    def get_dependency(self, worker_ctx: Any) -> FeedCache:
        return self.cache


def answer(
    cache: FeedCache,
    db: DatabaseAccess,
    owner: dict[str, str],
    now: datetime,
    window: calendar_records.FeedWindow,
    addresses: calendar.FeedAddresses,
    if_none_match: str | None,
    held: str | None = None,
    pause: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``{"etag", "not_modified": true}`` when ``if_none_match`` names the feed's ETag,
    ``{"etag", "held": true}`` when ``held`` (the ETag of the body the caller keeps) is it, else
    ``{"etag", "body"}``: from what the cache holds when it can, written otherwise."""
    org_id, user_id = owner["org_id"], owner["user_id"]
    state = cache.states.get(user_id)
    if state is not None:
        with db.read() as session:
            state = refreshed(session, state, org_id, user_id, now, window)
        if state is not None:
            cache.states[user_id] = state
            if found := _kept(cache, user_id, state.tag, if_none_match, held):
                return found
    with cache.writing(user_id):
        # The ETag again, and the records if they are needed, from one snapshot: after a few
        # changes, only what they touched is read again (the ETag's lines as the events).
        with snapshot(db.engine) as session:
            before = cache.bodies.get(user_id)
            patch = None
            if before is not None and before.read_at <= now:
                seqs = (before.org_seq, org_seq(session, org_id))
                patch = patch_since(session, org_id, user_id, now, window, seqs, before.shown.keys())
            if patch is not None and before is not None:
                lines = patch.lines(session, before.lines, org_id, user_id, now, window)
                if len(lines) != len(patch.window):  # a line missing: never seen, but never guessed
                    patch = None
            if patch is None:
                lines = window_lines(session, org_id, user_id, now, window)
            state = state_of(session, lines, org_id, user_id, now, window, feed_settings(window, addresses))
            cache.states[user_id] = state
            if found := _kept(cache, user_id, state.tag, if_none_match, held):
                return found  # a 304, or the feed the worker this one waited for wrote
            only = patch.read if patch is not None else None
            records = calendar_records.feed_records(session, org_id, user_id, now, window, only)
        shown = calendar.shown_events(records, addresses, cache.events, pause)
        if before is not None and patch is not None:
            unchanged = before.shown.keys() - patch.read - patch.removed
            shown = {**{i: before.shown[i] for i in unchanged}, **shown}
        body = calendar.calendar_of(records.user, shown, cache.events)
        cache.bodies[user_id] = KeptFeed(state.tag, state.org_seq, now, shown, lines, body)
    return {"etag": state.tag, "body": body}


def _kept(
    cache: FeedCache, user_id: str, tag: str, if_none_match: str | None, held: str | None
) -> dict[str, Any] | None:
    if not_modified(if_none_match, tag):
        return {"etag": tag, "not_modified": True}
    if held == tag:
        return {"etag": tag, "held": True}
    kept = cache.bodies.get(user_id)
    if kept is not None and kept.tag == tag:
        return {"etag": tag, "body": kept.body}
    return None


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose reads all see the same moment on PostgreSQL (a read-only repeatable read
    transaction); on SQLite (the unit tests, one writer) each read sees the last commit."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        yield session
        session.rollback()
