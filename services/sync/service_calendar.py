"""The sync service's calendar feed entrypoints: the feed itself (``calendar_feed``, for the
gateway's ``GET /calendar/<token>.ics``) and accounts' announcements of which token opens whose
feed (``calendar_tokens.py``), so that a feed is answered with no call to accounts.

A mixin of ``SyncService``: it uses that class's ``db``, ``accounts``, ``settings``, ``config``
and ``_now``.
"""

from __future__ import annotations

from typing import Any

import eventlet

from crm.database import once_more_on_conflict
from crm.events import durable_event_handler
from crm.inbox import first_delivery
from crm.rpc import rpc
from services.sync import calendar, calendar_feeds, calendar_records, calendar_tokens
from services.sync.exceptions import CalendarFeedNotFound

ACCOUNTS = "accounts"


class CalendarFeedEntrypoints:
    db: Any
    accounts: Any
    config: Any
    settings: Any
    _now: Any
    # What this process keeps of the calendar feeds it answered.
    feed_cache = calendar_feeds.CalendarFeeds()

    @rpc
    def calendar_feed(
        self, token: str, if_none_match: str | None = None, held: str | None = None
    ) -> dict[str, Any]:
        """The iCalendar feed of the user holding ``token`` (no login: the token is the secret),
        built from the replica: ``{"etag", "body"}``, ``{"etag", "not_modified": true}`` when
        ``if_none_match`` names the current ETag (found without writing the feed), or
        ``{"etag", "held": true}`` when ``held`` is it (the gateway keeps that body). The ETag
        changes whenever the text would. ``CalendarFeedNotFound`` for a token no active user
        holds, whether it never existed or was rotated (a rotated token within seconds: once
        accounts' announcement is applied)."""
        owner = self._feed_owner(token)
        if owner is None:
            raise CalendarFeedNotFound("no calendar feed at this address")
        window = calendar_records.FeedWindow(
            self.settings.calendar_past_days, self.settings.calendar_future_days
        )
        addresses = calendar.FeedAddresses.of(self.config["CRM"].gateway)
        return calendar_feeds.answer(
            self.feed_cache,
            self.db,
            owner,
            self._now(),
            window,
            addresses,
            if_none_match,
            held,
            eventlet.sleep,
        )

    def _feed_owner(self, token: str) -> dict[str, str] | None:
        if not calendar.looks_like_token(token):
            return None
        with self.db.read() as session:
            owner = calendar_tokens.owner_of(session, token)
        # Not announced (yet): accounts knows. Its answer is not kept (see calendar_tokens.py).
        return owner or self.accounts.resolve_calendar_token(token)

    @durable_event_handler(ACCOUNTS, "calendar_token_changed")
    def on_calendar_token_changed(self, payload: dict[str, Any]) -> None:
        """A user's feed token was made or rotated, or the user (de)activated: the feed answers
        the new token, and the old one (or none, while deactivated) no more. Once per event."""

        def transaction() -> None:
            with self.db.transaction() as uow:
                if first_delivery(uow.session, payload["event_id"], "sync.calendar_token_changed"):
                    calendar_tokens.apply_token(uow.session, payload["record"])

        once_more_on_conflict(transaction)
