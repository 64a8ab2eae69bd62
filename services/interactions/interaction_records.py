"""Interactions as the API and events show them: whole (``interaction_out``), as a calendar entry
(``agenda_entry``), as a summary, their participants; many at once in a few queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.times import iso
from crm.validation import money_out
from services.interactions.models import Booking, Interaction, InteractionLink, Participant


def interactions_out(session: Session, rows: list[Any], entry: bool = False) -> list[dict[str, Any]]:
    """Many interactions (ORM objects or rows) with their links, participants and bookings,
    in three more queries. ``entry``: the short form a calendar shows (``agenda_entry``)."""
    ids = [row.id for row in rows]
    links: dict[str, dict[str, list[str]]] = {i: {"contact": [], "company": []} for i in ids}
    participants: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    bookings: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        link_table, participant_table = InteractionLink.__table__, Participant.__table__
        for link in session.execute(
            select(link_table.c.interaction_id, link_table.c.kind, link_table.c.target_id).where(
                link_table.c.interaction_id.in_(ids)
            )
        ):
            links[link.interaction_id][link.kind].append(link.target_id)
        for participant in session.execute(
            select(participant_table)
            .where(participant_table.c.interaction_id.in_(ids))
            .order_by(participant_table.c.invited_at)
        ):
            participants[participant.interaction_id].append(
                {"user_id": participant.user_id, "status": participant.status}
                if entry
                else participant_out(participant)
            )
        for booking in session.execute(
            select(Booking.interaction_id, Booking.resource_id).where(Booking.interaction_id.in_(ids))
        ):
            bookings[booking.interaction_id].append(booking.resource_id)
    shape = agenda_entry if entry else _out
    return [shape(row, links[row.id], participants[row.id], bookings[row.id]) for row in rows]


def interaction_out(session: Session, row: Interaction) -> dict[str, Any]:
    return interactions_out(session, [row])[0]


def new_interaction_out(
    row: Interaction, contact_ids: list[str | None], company_ids: list[str | None]
) -> dict[str, Any]:
    """A just-made interaction with only these links (no participant, no booking), without a
    query: what ``interaction_out`` would answer."""
    links = {"contact": [i for i in contact_ids if i], "company": [i for i in company_ids if i]}
    return _out(row, links, [], [])


def _out(
    row: Interaction, links: dict[str, list[str]], participants: list, resource_ids: list[str]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "subject": row.subject,
        "type": row.type_key,
        "status": row.status_key,
        "start_at": iso(row.start_at),
        "end_at": iso(row.end_at),
        "all_day": row.all_day,
        "budget": money_out(row.budget_amount, row.budget_currency),
        "owner_id": row.owner_id,
        "project_id": row.project_id,
        "description": row.description,
        "contact_ids": sorted(links["contact"]),
        "company_ids": sorted(links["company"]),
        "participants": participants,
        "resource_ids": sorted(resource_ids),
        "version": row.version,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "deleted_at": iso(row.deleted_at),
    }


def agenda_entry(
    row: Any, links: dict[str, list[str]], participants: list, resource_ids: list[str]
) -> dict[str, Any]:
    """An interaction as a calendar shows it: when, what, who, where; the rest is one GET away."""
    return {
        "id": row.id,
        "subject": row.subject,
        "type": row.type_key,
        "status": row.status_key,
        "start_at": iso(row.start_at),
        "end_at": iso(row.end_at),
        "all_day": row.all_day,
        "owner_id": row.owner_id,
        "contact_ids": sorted(links["contact"]),
        "company_ids": sorted(links["company"]),
        "participants": participants,
        "resource_ids": sorted(resource_ids),
    }


def summary_out(row: Interaction) -> dict[str, Any]:
    """What participant events carry about their interaction."""
    return {
        "id": row.id,
        "subject": row.subject,
        "type": row.type_key,
        "status": row.status_key,
        "start_at": iso(row.start_at),
        "end_at": iso(row.end_at),
        "all_day": row.all_day,
        "owner_id": row.owner_id,
    }


def participant_out(row: Any) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "status": row.status,
        "invited_by": row.invited_by,
        "invited_at": iso(row.invited_at),
        "responded_at": iso(row.responded_at),
    }
