"""``record_viewed``: a user opened one record on the web, so sync takes it to their phone.

The gateway owns no table and so no outbox: the event is published straight away,
without a publisher confirm. A lost view only means the record reaches the phone
later (at its next view, change or link), so a view is never refused for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from crm.auth import Caller
from crm.ids import new_id
from crm.times import iso, utcnow

RECORD_VIEWED = "record_viewed"

log = logging.getLogger(__name__)


def viewed_event(caller: Caller, table: str, record_id: str) -> dict[str, Any]:
    return {
        "event_id": new_id(),
        "event_type": RECORD_VIEWED,
        "org_id": caller.org_id,
        "occurred_at": iso(utcnow()),
        "actor_id": caller.user_id,
        "record": {"table": table, "id": record_id},
    }


def announce_view(dispatch: Callable[[str, Any], None], caller: Caller, table: str, record_id: str) -> None:
    try:
        dispatch(RECORD_VIEWED, viewed_event(caller, table, record_id))
    except Exception as exc:  # the bus is away: the page still answers
        log.warning("record_viewed not sent (%s): %s", type(exc).__name__, exc)
