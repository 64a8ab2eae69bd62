"""What other services must know at start: every revocation a live access token may be subject to.

Each revocation is also announced as an event when it happens (``crm.revocation``);
this is the snapshot a process loads after binding its queue, so that one
that starts later does not accept what was revoked before it started.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.revocation import CLOCK_SKEW_SECONDS
from crm.settings import AuthSettings
from crm.times import iso, utcnow
from services.accounts.models import LoginSession, User


def in_force(session: Session, auth: AuthSettings) -> dict[str, Any]:
    """Sessions revoked, and users changed, since the oldest access token still alive was issued."""
    since = utcnow() - timedelta(seconds=auth.access_token_ttl_seconds + CLOCK_SKEW_SECONDS)
    sessions = session.execute(
        select(LoginSession.id, LoginSession.revoked_at).where(LoginSession.revoked_at > since)
    ).all()
    users = session.execute(
        select(User.id, User.version, User.role, User.read_only, User.active, User.updated_at).where(
            User.updated_at > since
        )
    ).all()
    return {
        "sessions": [{"session_id": row.id, "revoked_at": iso(row.revoked_at)} for row in sessions],
        "users": [
            {
                "id": row.id,
                "version": row.version,
                "role": row.role,
                "read_only": row.read_only,
                "active": row.active,
                "updated_at": iso(row.updated_at),
            }
            for row in users
        ],
    }
