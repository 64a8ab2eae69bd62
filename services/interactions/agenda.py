"""The agenda: interactions of one or several users over a date range, owned or taken part in.

An interaction is on a user's agenda if they own it, or are invited or
confirmed (not if they refused). Days are UTC, both included. Every
interaction that overlaps the range shows, however long before it began: short
ones are found by their start (at most ``LONG_RUNNING`` before the range),
longer ones by ``long_until``, their end, which only they carry. Each is an
agenda entry (when, what, who, where: ``interaction_records.agenda_entry``); the full
interaction is one GET away.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.times import aware
from services.interactions.interaction_records import interactions_out
from services.interactions.models import LONG_RUNNING, Interaction, Participant
from services.interactions.spans import day_window

_TAKING_PART = ("invited", "confirmed")
MAX_USERS = 50


def agenda(
    session: Session, org_id: str, user_ids: list[str], since: date, until: date
) -> list[dict[str, Any]]:
    start, end = day_window(since, until)
    if len(user_ids) > MAX_USERS:
        raise invalid("user_ids", f"at most {MAX_USERS} users at once")
    table = Interaction.__table__
    # Rows, not ORM objects: an agenda can hold hundreds of interactions.
    owned = session.execute(
        select(table).where(
            table.c.org_id == org_id,
            table.c.owner_id.in_(user_ids),
            table.c.start_at >= start - LONG_RUNNING,
            table.c.start_at < end,
            table.c.deleted_at.is_(None),
        )
    )
    rows = {row.id: row for row in owned}
    # Long ones that began earlier and still run: few, found by their end.
    began_earlier = (
        table.c.org_id == org_id,
        table.c.long_until >= start,
        table.c.start_at < start - LONG_RUNNING,
        table.c.deleted_at.is_(None),
    )
    long_owned = session.execute(select(table).where(*began_earlier, table.c.owner_id.in_(user_ids)))
    rows.update((row.id, row) for row in long_owned)
    taking_part = set(
        session.scalars(
            select(Participant.interaction_id).where(
                Participant.org_id == org_id,
                Participant.user_id.in_(user_ids),
                Participant.status.in_(_TAKING_PART),
                Participant.start_at >= start - LONG_RUNNING,
                Participant.start_at < end,
            )
        )
    )
    taking_part |= set(
        session.scalars(
            select(Participant.interaction_id)
            .join(table, table.c.id == Participant.interaction_id)
            .where(
                *began_earlier,
                Participant.user_id.in_(user_ids),
                Participant.status.in_(_TAKING_PART),
            )
        )
    )
    taking_part -= rows.keys()
    if taking_part:
        others = session.execute(
            select(table).where(table.c.id.in_(taking_part), table.c.deleted_at.is_(None))
        )
        rows.update((row.id, row) for row in others)
    shown = sorted(
        (row for row in rows.values() if _overlaps(row, start, end)),
        key=lambda row: (aware(row.start_at), row.id),
    )
    return interactions_out(session, shown, entry=True)


def _overlaps(row: Interaction, start: datetime, end: datetime) -> bool:
    return aware(row.start_at) < end and aware(row.end_at or row.start_at) >= start
