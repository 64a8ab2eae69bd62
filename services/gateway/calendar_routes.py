"""HTTP route of a user's calendar feed: the address calendar apps subscribe to, with no login
(the token in the path is the secret; ``sync`` builds the feed, docs/api.md "Calendar feed")."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import route

ICALENDAR = "text/calendar"
IF_NONE_MATCH = "If-None-Match"
# A feed is its user's own; shared caches keep none, a client may reuse it for five minutes.
CACHE_CONTROL = "private, max-age=300"


class CalendarRoutes:
    """Mixed into the gateway service; ``self.sync`` is the RPC client."""

    sync: Any

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
        feed = self.sync.calendar_feed(token, request.headers.get(IF_NONE_MATCH))
        headers = {"ETag": feed["etag"], "Cache-Control": CACHE_CONTROL}
        if feed.get("not_modified"):
            return Response(status=304, headers=headers)
        return Response(feed["body"], mimetype=ICALENDAR, headers=headers)
