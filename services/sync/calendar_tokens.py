"""Which user a calendar feed token opens, from sync's own table, kept from accounts'
``calendar_token_changed`` (the token's SHA-256 when it is made or rotated, null when the user is
deactivated, the hash again when reactivated).

Announcements may arrive in any order and more than once: ``changed_at`` (accounts' last rotation
of the user's secrets), then the user's ``version``, order them, and an older one changes nothing.
A token sync holds no hash for is asked of accounts (``service_calendar``): one made before sync
heard of it, or rotated a moment ago; what accounts answers is not kept, since a rotation may be
committed between its answer and its being written here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sync.models import CalendarToken


def token_hash(token: str) -> str:
    """As accounts stores and announces it."""
    return hashlib.sha256(token.encode()).hexdigest()


def owner_of(session: Session, token: str) -> dict[str, str] | None:
    """``{"user_id", "org_id"}`` of the active user whose feed ``token`` opens, as sync last
    heard, or None (unknown here: rotated, deactivated, or never announced)."""
    query = select(CalendarToken.user_id, CalendarToken.org_id)
    found = session.execute(query.where(CalendarToken.token_hash == token_hash(token))).first()
    return {"user_id": found.user_id, "org_id": found.org_id} if found else None


def apply_token(session: Session, record: dict[str, Any]) -> None:
    """A ``calendar_token_changed`` record: the user's feed opens with ``token_hash`` (none when
    null) from now on, unless sync already holds a newer announcement."""
    stamp = (datetime.fromisoformat(record["changed_at"]), int(record["version"]))
    query = select(CalendarToken).where(CalendarToken.user_id == record["user_id"]).with_for_update()
    row = session.scalars(query).first()
    if row is None:
        row = CalendarToken(user_id=record["user_id"], org_id=record["org_id"])
        session.add(row)
    elif (row.changed_at, row.user_version) >= stamp:
        return
    row.token_hash = record["token_hash"]
    row.changed_at, row.user_version = stamp
    session.flush()
