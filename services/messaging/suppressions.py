"""The suppression list: addresses that bounced hard or complained are not mailed again.

An admin can lift a suppression (the address was fixed, the complaint was a mistake).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import insert_ignoring_duplicates
from crm.times import iso, utcnow
from services.messaging.exceptions import AddressSuppressed, SuppressionNotFound
from services.messaging.models import Suppression

HARD_BOUNCE, COMPLAINT = "hard_bounce", "complaint"


def refuse_if_suppressed(session: Session, org_id: str, email: str) -> None:
    row = session.get(Suppression, (org_id, email.lower()))
    if row is not None:
        why = "bounced hard" if row.reason == HARD_BOUNCE else "complained of spam"
        raise AddressSuppressed(
            f"{email} is on the suppression list: it {why} on {iso(row.created_at)}"
            + (f" ({row.detail})" if row.detail else "")
            + "; an admin can lift it",
            [{"field": "to.email", "message": f"suppressed: {row.reason}"}],
        )


def suppress(
    session: Session, org_id: str, email: str, reason: str, detail: str | None, message_id: str | None
) -> None:
    """Add ``email`` to the list; an address already there keeps its first reason."""
    session.execute(
        insert_ignoring_duplicates(session, Suppression).values(
            org_id=org_id,
            email=email.lower(),
            reason=reason,
            detail=(detail or None) and detail[:500],
            message_id=message_id,
            created_at=utcnow(),
        )
    )


def lift(session: Session, org_id: str, email: str) -> None:
    row = session.get(Suppression, (org_id, email.lower()))
    if row is None:
        raise SuppressionNotFound(f"{email} is not on the suppression list")
    session.delete(row)


def list_suppressions(session: Session, org_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Suppression).where(Suppression.org_id == org_id).order_by(Suppression.created_at.desc())
    )
    return [
        {
            "email": row.email,
            "reason": row.reason,
            "detail": row.detail,
            "message_id": row.message_id,
            "created_at": iso(row.created_at),
        }
        for row in rows
    ]
