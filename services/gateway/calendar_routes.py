"""HTTP route of a user's calendar feed: the address calendar apps subscribe to, with no login
(the token in the path is the secret; ``sync`` builds the feed, docs/api.md "Calendar feed").

A feed is about 0.7 MB a thousand events: each gateway process keeps the last one it answered
for each token, and tells sync which ETag it holds, so that an unchanged feed does not cross
the bus again (sync still resolves the token and says whether that ETag is current)."""

from __future__ import annotations

import hashlib
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from crm.lru import Lru
from services.gateway.http import route

ICALENDAR = "text/calendar"
IF_NONE_MATCH = "If-None-Match"
# A feed is its user's own; shared caches keep none, a client may reuse it for five minutes.
CACHE_CONTROL = "private, max-age=300"


class KeptFeeds(DependencyProvider):
    """The feeds this process answered, ``(ETag, body)`` by a digest of their token, within
    ``gateway.calendar_cache_mb``."""

    def setup(self) -> None:
        budget = self.container.config["CRM"].gateway.calendar_cache_mb * 1_000_000
        self.kept: Lru[bytes, tuple[str, bytes]] = Lru(budget, lambda feed: len(feed[1]))

    def get_dependency(self, worker_ctx: Any) -> Lru[bytes, tuple[str, bytes]]:
        return self.kept


class CalendarRoutes:
    """Mixed into the gateway service; ``self.sync`` is the RPC client."""

    sync: Any
    kept_feeds = KeptFeeds()

    @route(
        "GET",
        "/calendar/<string:token>.ics",
        summary="Your interactions as an iCalendar feed, for calendar apps to subscribe to (no login)",
        tag="calendar",
        auth=False,
        response_media_type=ICALENDAR,
        path_params={
            "token": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "The feed token (cal_...)",
            }
        },
        headers={
            IF_NONE_MATCH: {
                "type": "string",
                "description": "The ETag of the feed already held: 304 while it is unchanged",
            }
        },
        errors=(404,),
    )
    def calendar_feed(self, request: Request, token: str) -> Response:
        key = hashlib.sha256(token.encode()).digest()
        held = self.kept_feeds.get(key)
        feed = self.sync.calendar_feed(token, request.headers.get(IF_NONE_MATCH), held and held[0])
        headers = {"ETag": feed["etag"], "Cache-Control": CACHE_CONTROL}
        if feed.get("not_modified"):
            return Response(status=304, headers=headers)
        if feed.get("held") and held is not None:
            body = held[1]
        else:
            body = feed["body"].encode()
            self.kept_feeds[key] = (feed["etag"], body)
        return Response(body, mimetype=ICALENDAR, headers=headers)
