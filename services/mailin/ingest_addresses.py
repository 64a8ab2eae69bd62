"""mailin's copy of the users' ingest addresses, kept from accounts' events and snapshot.

accounts announces ``ingest_address_changed`` when a user's address is made,
rotated, or the user deactivated or reactivated, and ``user_created``,
``user_deactivated``, ``user_reactivated``; at start (and every few minutes)
mailin also loads the whole list (``accounts.get_ingest_addresses``). Events
and snapshot may arrive in any order and more than once: the address follows
accounts' ``changed_at`` (when it last rotated it), the active flag the user's
``version``; an older value never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.times import utcnow
from services.mailin.models import IngestAddress


def deactivated(user_id: Any) -> Any:
    """A condition: the user ``user_id`` (a column) is deactivated, as accounts last told mailin."""
    return (
        select(IngestAddress.user_id)
        .where(IngestAddress.user_id == user_id, IngestAddress.active.is_(False))
        .exists()
    )


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _row(session: Session, user_id: str, org_id: str) -> IngestAddress:
    query = select(IngestAddress).where(IngestAddress.user_id == user_id).with_for_update()
    row = session.scalars(query).first()
    if row is None:
        row = IngestAddress(user_id=user_id, org_id=org_id, local_part=None, active=True, user_version=0)
        row.updated_at = utcnow()
        session.add(row)
    return row


def apply_user(session: Session, record: dict[str, Any]) -> None:
    """A user as accounts' ``user_*`` events carry it: keeps the active flag if newer."""
    row = _row(session, record["id"], record["org_id"])
    version = int(record["version"])
    if version > row.user_version:
        row.active = bool(record["active"])
        row.user_version = version
        row.updated_at = utcnow()
    session.flush()


def apply_address(session: Session, record: dict[str, Any]) -> None:
    """An ``ingest_address_changed`` record (or one line of the snapshot)."""
    row = _row(session, record["user_id"], record["org_id"])
    changed_at = _moment(record.get("changed_at"))
    local_part = str(record["local_part"]).lower()
    if row.address_changed_at is None or (changed_at is not None and changed_at > row.address_changed_at):
        if local_part != row.local_part:
            # The same local part is never given twice; one held by a stale row is freed for this user.
            session.execute(
                update(IngestAddress)
                .where(IngestAddress.local_part == local_part, IngestAddress.user_id != row.user_id)
                .values(local_part=None)
            )
        row.local_part = local_part
        row.address_changed_at = changed_at
        row.updated_at = utcnow()
    version = int(record["version"])
    if version > row.user_version:
        row.active = bool(record["active"])
        row.user_version = version
        row.updated_at = utcnow()
    session.flush()


def apply_snapshot(session: Session, records: list[dict[str, Any]]) -> int:
    """Every user's address as accounts holds it now; returns how many were read."""
    for record in records:
        apply_address(session, record)
    return len(records)
