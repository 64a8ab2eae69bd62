"""The calendar feed route keeps the last feed it answered for each token and tells sync which
ETag it holds: an unchanged feed is answered from the gateway without its body crossing the bus
again, a changed one replaces it, a calendar app's own ETag still gets its 304. Sync here is
the real answer over a real (SQLite) replica."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.database import DatabaseAccess
from crm.lru import Lru
from crm.settings import parse_settings
from services.gateway.service import GatewayService
from services.sync import calendar_records, feed
from services.sync.calendar_feeds import FeedCache, answer
from tests.unit.sync.test_calendar import ADDRESSES, ALICE, NOW, POMME, _apply, _interaction, calendar_replica

TOKEN = "cal_" + "Pomme-Siege-Central_" * 2
PATH = f"/calendar/{TOKEN}.ics"


class Sync:
    """sync's ``calendar_feed`` over the replica, remembering what it was asked and answered."""

    def __init__(self, db: DatabaseAccess):
        self.db, self.cache = db, FeedCache(10_000_000)
        self.asked: list[tuple[str | None, str | None]] = []
        self.answered: list[dict[str, Any]] = []

    def calendar_feed(self, token: str, if_none_match: str | None = None, held: str | None = None) -> dict:
        assert token == TOKEN
        self.asked.append((if_none_match, held))
        owner = {"org_id": POMME, "user_id": ALICE}
        found = answer(
            self.cache, self.db, owner, NOW, calendar_records.FeedWindow(), ADDRESSES, if_none_match, held
        )
        self.answered.append(found)
        return found


@pytest.fixture
def sync(tmp_path: Path) -> Iterator[Sync]:
    for session in calendar_replica(tmp_path):
        for day in range(1, 11):
            _apply(
                session,
                feed.apply_interaction,
                _interaction(f"i-{day:02d}", f"2026-10-{day:02d}T08:30:00+00:00"),
            )
        yield Sync(DatabaseAccess(session.get_bind(), relay=None))


def _gateway(sync: Sync) -> GatewayService:
    return worker_factory(
        GatewayService, sync=sync, kept_feeds=Lru(10_000_000), config={"CRM": parse_settings("{}")}
    )


def _get(gateway: GatewayService, if_none_match: str | None = None):
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    return gateway.calendar_feed(Request(EnvironBuilder(path=PATH, headers=headers).get_environ()), TOKEN)


def test_an_unchanged_feed_is_answered_from_the_gateway_and_a_changed_one_replaces_it(sync):
    gateway = _gateway(sync)

    first = _get(gateway)
    again = _get(gateway)
    etag = first.headers["ETag"]

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_data() == first.get_data() and b"UID:i-10@" in first.get_data()
    assert again.headers["ETag"] == etag and again.mimetype == "text/calendar"
    assert sync.asked == [(None, None), (None, etag)]
    assert sync.answered[1] == {"etag": etag, "held": True}  # no body on the bus

    assert _get(gateway, etag).status_code == 304
    assert _get(gateway, f'"old", W/{etag}').status_code == 304

    with Session(sync.db.engine) as session:
        _apply(
            session,
            feed.apply_interaction,
            _interaction("i-05", "2026-10-05T08:30:00+00:00", subject="Livraison", version=2),
        )
    changed = _get(gateway, etag)

    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"SUMMARY:Livraison" in changed.get_data()
    assert "body" in sync.answered[-1]
    assert _get(gateway).get_data() == changed.get_data()
    assert sync.answered[-1] == {"etag": changed.headers["ETag"], "held": True}
