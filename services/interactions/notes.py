"""Timestamped notes: appended to an interaction, never rewritten nor deleted.

Each note carries a stamp rendered once, when it is written, in its author's
time zone: ``"Bruno Petit, 01/12/2026 03:05 (America/Montreal)"`` (day/month/year,
24-hour clock). ``written_at`` keeps the same moment in UTC.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.ids import new_id
from crm.records import has_values, replayed
from crm.times import iso, utcnow
from services.interactions.interactions import interaction_of
from services.interactions.models import Note
from services.interactions.note_schemas import NoteAppend

STAMP_FORMAT = "%d/%m/%Y %H:%M"


def stamp(author_name: str, moment: datetime, time_zone: str | None) -> str:
    """``"Alice Martin, 22/11/2026 17:05 (Europe/Paris)"``: ``moment`` as the author's clock showed it."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return f"{author_name}, {moment.astimezone(zone).strftime(STAMP_FORMAT)} ({zone.key})"[:300]


def note_out(row: Note) -> dict[str, Any]:
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "author_id": row.author_id,
        "stamp": row.stamp,
        "text": row.text,
        "written_at": iso(row.written_at),
    }


def append(
    uow: UnitOfWork, caller: Caller, interaction_id: str, request: NoteAppend, author: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Append the note, stamped for ``author`` (the caller as accounts has them). The id of an
    existing note with the same text is a replay (``False``)."""
    session = uow.session
    interaction = interaction_of(session, caller.org_id, interaction_id)
    same = {"interaction_id": interaction.id, "author_id": caller.user_id, "text": request.text}
    existing = replayed(session, Note, request.id, caller.org_id, lambda row: has_values(row, same))
    if existing is not None:
        return note_out(existing), False
    now = utcnow()
    values = {
        "id": request.id or new_id(),
        "org_id": caller.org_id,
        "interaction_id": interaction.id,
        "author_id": caller.user_id,
        "stamp": stamp(author.get("name") or caller.user_id, now, author.get("time_zone")),
        "text": request.text,
        "written_at": now,
    }
    record = note_out(Note(**values))
    uow.emit("interaction_note_added", org_id=caller.org_id, actor_id=caller.user_id, record=record)
    # A note is only ever inserted: with its event (one statement on PostgreSQL), without the
    # ORM's unit of work.
    uow.insert([(Note.__table__, [values])])
    return record, True


def list_notes(session: Session, caller: Caller, interaction_id: str) -> list[dict[str, Any]]:
    """The interaction's notes, oldest first."""
    interaction = interaction_of(session, caller.org_id, interaction_id)
    rows = session.scalars(
        select(Note).where(Note.interaction_id == interaction.id).order_by(Note.written_at, Note.id)
    ).all()
    return [note_out(row) for row in rows]
