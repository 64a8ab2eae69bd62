"""Interactions: create, change, read, list; archive, restore, purge; their contacts and companies.

Every user of the organisation sees its interactions; writers change them; only the
owner or an admin archives one (``may_archive``), only an admin purges an archived one.
Linked contacts, companies and the owner are checked by the service with
the services that own them, before these functions run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import check_version, cursor_row, record_of, replayed
from crm.times import aware, iso, utcnow
from crm.validation import money_out
from services.interactions import catalogue
from services.interactions.exceptions import InteractionNotFound, NotArchived, NotInteractionOwner
from services.interactions.interaction_records import interaction_out, interactions_out, new_interaction_out
from services.interactions.models import (
    Booking,
    CheckIn,
    Document,
    Interaction,
    InteractionLink,
    Note,
    Participant,
    Project,
    RunningTimer,
    TimeEntry,
    long_until,
)
from services.interactions.schemas import InteractionCreate, InteractionListQuery, InteractionUpdate
from services.interactions.spans import whole_days


def interaction_of(session: Session, org_id: str, interaction_id: str, *, lock: bool = False) -> Interaction:
    """A live interaction of ``org_id``; another organisation's, or a deleted one, is not found."""
    return record_of(
        session, Interaction, org_id, interaction_id, InteractionNotFound, "interaction", lock=lock
    )


def _check_project(session: Session, org_id: str, project_id: str | None) -> None:
    if project_id is None:
        return
    project = session.get(Project, project_id)
    if project is None or project.org_id != org_id or project.deleted_at is not None:
        raise invalid("project_id", f"no project {project_id}")


def _content_hash(request: InteractionCreate, owner_id: str) -> str:
    document = request.model_dump(mode="json", exclude={"id"})
    document["owner_id"] = owner_id
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def create(uow: UnitOfWork, caller: Caller, request: InteractionCreate) -> tuple[dict[str, Any], bool]:
    """A new interaction; an existing id with the same content is a replay (``False``)."""
    session = uow.session
    owner_id = request.owner_id or caller.user_id
    existing = replayed(
        session, Interaction, request.id, caller.org_id, lambda row: _same_as(session, row, request, owner_id)
    )
    if existing is not None:
        return interaction_out(session, existing), False
    if request.end_at is not None and request.end_at < request.start_at:
        raise invalid("end_at", "is before start_at")
    start_at, end_at = whole_days(request.start_at, request.end_at, request.all_day)
    kind = catalogue.type_of(session, caller.org_id, request.type)
    status = catalogue.check_status(kind, request.status)
    _check_project(session, caller.org_id, request.project_id)
    now = utcnow()
    values = {
        "id": request.id or new_id(),
        "org_id": caller.org_id,
        "subject": request.subject,
        "type_key": kind.key,
        "status_key": status,
        "start_at": start_at,
        "end_at": end_at,
        "all_day": request.all_day,
        "budget_amount": request.budget.amount if request.budget else None,
        "budget_currency": request.budget.currency if request.budget else None,
        "owner_id": owner_id,
        "project_id": request.project_id,
        "description": request.description,
        "version": 1,
        "created_by": caller.user_id,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "long_until": long_until(start_at, end_at),
    }
    links = {
        "contact": list(dict.fromkeys(request.contact_ids)),
        "company": list(dict.fromkeys(request.company_ids)),
    }
    # Described from what was built (a new interaction has its links and no participants or
    # bookings: nothing is read back), then inserted as it is with its links and its event
    # (one statement on PostgreSQL), without the ORM's unit of work.
    record = new_interaction_out(Interaction(**values), links["contact"], links["company"])
    uow.emit("interaction_created", org_id=caller.org_id, actor_id=caller.user_id, record=record)
    link_rows = [
        {"interaction_id": values["id"], "kind": link_kind, "target_id": target_id, "org_id": caller.org_id}
        for link_kind, target_ids in links.items()
        for target_id in target_ids
    ]
    rows = [(Interaction.__table__, [values]), (InteractionLink.__table__, link_rows)]
    uow.insert(rows)
    return record, True


def _same_as(session: Session, row: Interaction, request: InteractionCreate, owner_id: str) -> bool:
    current = interaction_out(session, row)
    budget = money_out(request.budget.amount, request.budget.currency) if request.budget else None
    start_at, end_at = whole_days(request.start_at, request.end_at, request.all_day)
    return (
        current["subject"] == request.subject
        and current["type"] == request.type
        and (request.status is None or current["status"] == request.status)
        and current["start_at"] == iso(start_at)
        and current["end_at"] == iso(end_at)
        and current["all_day"] == request.all_day
        and current["budget"] == budget
        and current["owner_id"] == owner_id
        and row.project_id == request.project_id
        and row.description == request.description
        and sorted(current["contact_ids"]) == sorted(request.contact_ids)
        and sorted(current["company_ids"]) == sorted(request.company_ids)
    )


def _set_links(session: Session, row: Interaction, kind: str, target_ids: list[str]) -> None:
    session.execute(
        delete(InteractionLink).where(InteractionLink.interaction_id == row.id, InteractionLink.kind == kind)
    )
    for target_id in dict.fromkeys(target_ids):
        session.add(InteractionLink(interaction_id=row.id, kind=kind, target_id=target_id, org_id=row.org_id))


def update(
    uow: UnitOfWork,
    caller: Caller,
    interaction_id: str,
    request: InteractionUpdate,
    moved: Callable[[Interaction], None] | None = None,
) -> dict[str, Any]:
    """Change the fields given. A stale ``version`` is a conflict; a new time moves
    the participants' agenda entries, then ``moved(row)`` follows it (the service
    passes the resource bookings' re-check, which builds on this module)."""
    session = uow.session
    row = interaction_of(session, caller.org_id, interaction_id, lock=True)
    check_version(row, request.version, "interaction")
    changes = request.model_dump(exclude_unset=True)
    if "type" in changes or "status" in changes:
        kind = catalogue.type_of(session, caller.org_id, changes.get("type") or row.type_key)
        status = changes.get("status")
        if status is None and kind.key != row.type_key:
            status = None  # a new type starts at its first status
        elif status is None:
            status = row.status_key
        row.type_key, row.status_key = kind.key, catalogue.check_status(kind, status)
    if "subject" in changes:
        row.subject = request.subject
    if "start_at" in changes:
        row.start_at = request.start_at
    if "end_at" in changes:
        row.end_at = request.end_at
    if request.all_day is not None:
        row.all_day = request.all_day
    if row.end_at is not None and aware(row.end_at) < aware(row.start_at):
        raise invalid("end_at", "is before start_at")
    if {"start_at", "end_at", "all_day"} & changes.keys():
        row.start_at, row.end_at = whole_days(row.start_at, row.end_at, row.all_day)
    if "budget" in changes:
        row.budget_amount = request.budget.amount if request.budget else None
        row.budget_currency = request.budget.currency if request.budget else None
    if request.owner_id is not None:
        row.owner_id = request.owner_id
    if "project_id" in changes:
        _check_project(session, caller.org_id, request.project_id)
        row.project_id = request.project_id
    if "description" in changes:
        row.description = request.description
    if request.contact_ids is not None:
        _set_links(session, row, "contact", request.contact_ids)
    if request.company_ids is not None:
        _set_links(session, row, "company", request.company_ids)
    if "start_at" in changes:
        for participant in session.scalars(select(Participant).where(Participant.interaction_id == row.id)):
            participant.start_at = row.start_at
    if moved is not None and {"start_at", "end_at", "all_day"} & changes.keys():
        moved(row)
    row.version += 1
    row.updated_at = utcnow()
    session.flush()
    record = interaction_out(session, row)
    uow.emit("interaction_updated", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record


def _archived_or_live(session: Session, org_id: str, interaction_id: str) -> Interaction:
    return record_of(
        session,
        Interaction,
        org_id,
        interaction_id,
        InteractionNotFound,
        "interaction",
        lock=True,
        with_deleted=True,
    )


def may_archive(caller: Caller, row: Interaction) -> bool:
    """Who may archive (delete) an interaction: its owner, or an admin."""
    return caller.is_admin or caller.user_id == row.owner_id


def _announce(uow: UnitOfWork, caller: Caller, row: Interaction, event_type: str) -> dict[str, Any]:
    row.version += 1
    row.updated_at = utcnow()
    uow.session.flush()
    record = interaction_out(uow.session, row)
    uow.emit(event_type, org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record


def delete_interaction(uow: UnitOfWork, caller: Caller, interaction_id: str) -> None:
    """Archive, by its owner or an admin (``NotInteractionOwner`` otherwise): it leaves lists, the
    agenda and reports, keeps its links, participants, notes and documents; its bookings free their
    resources. Announced as ``interaction_deleted`` with the record as it now is. Archiving it
    again changes nothing."""
    session = uow.session
    row = _archived_or_live(session, caller.org_id, interaction_id)
    if not may_archive(caller, row):
        raise NotInteractionOwner(
            f"only the interaction's owner ({row.owner_id}) or an admin may delete interaction {row.id}"
        )
    if row.deleted_at is not None:
        return
    row.deleted_at = utcnow()
    session.execute(delete(Booking).where(Booking.interaction_id == row.id))
    _announce(uow, caller, row, "interaction_deleted")


def restore_interaction(uow: UnitOfWork, caller: Caller, interaction_id: str) -> dict[str, Any]:
    """Bring an archived interaction back with its links, participants, notes and documents
    (``interaction_updated``); the resources it had booked are not booked again. A live one is
    ``NotArchived``."""
    row = _archived_or_live(uow.session, caller.org_id, interaction_id)
    if row.deleted_at is None:
        raise NotArchived(
            f"interaction {interaction_id} is not archived: only an archived interaction is restored"
        )
    row.deleted_at = None
    return _announce(uow, caller, row, "interaction_updated")


# What belongs to an interaction alone, deleted with it by a purge.
OWN_ROWS = (InteractionLink, Participant, Booking, Note, Document, CheckIn, TimeEntry, RunningTimer)


def purge_interaction(uow: UnitOfWork, caller: Caller, interaction_id: str) -> None:
    """Delete an archived interaction for good, with its links, participants, bookings, notes,
    documents (their metadata: the blobs may be shared), check-ins, time entries and a timer
    running on it (``interaction_purged``). A live one is ``NotArchived``: archive it first."""
    session = uow.session
    row = _archived_or_live(session, caller.org_id, interaction_id)
    if row.deleted_at is None:
        raise NotArchived(
            f"interaction {interaction_id} is not archived: archive it (DELETE) before purging it"
        )
    for model in OWN_ROWS:
        session.execute(delete(model).where(model.interaction_id == row.id))
    session.delete(row)
    session.flush()
    uow.emit(
        "interaction_purged", org_id=caller.org_id, actor_id=caller.user_id, record={"id": interaction_id}
    )


def list_interactions(session: Session, caller: Caller, query: InteractionListQuery) -> dict[str, Any]:
    """Newest first; ``user_id`` keeps those the user owns or takes part in (invited or confirmed);
    ``archived``: the archived ones instead of the live ones."""
    archived = Interaction.deleted_at.is_not(None) if query.archived else Interaction.deleted_at.is_(None)
    statement = select(Interaction).where(Interaction.org_id == caller.org_id, archived)
    if query.user_id is not None:
        taking_part = select(Participant.interaction_id).where(
            Participant.user_id == query.user_id, Participant.status.in_(("invited", "confirmed"))
        )
        statement = statement.where((Interaction.owner_id == query.user_id) | Interaction.id.in_(taking_part))
    if query.type is not None:
        statement = statement.where(Interaction.type_key == query.type)
    if query.status is not None:
        statement = statement.where(Interaction.status_key == query.status)
    if query.project_id is not None:
        statement = statement.where(Interaction.project_id == query.project_id)
    if query.updated_since is not None:
        statement = statement.where(Interaction.updated_at >= query.updated_since)
    for kind, target in (("contact", query.contact_id), ("company", query.company_id)):
        if target is not None:
            statement = statement.where(Interaction.id.in_(linked_to(caller.org_id, kind, target)))
    page, next_cursor = newest_first_page(
        session, caller.org_id, statement, Interaction.id, query.limit, query.cursor
    )
    return {"items": interactions_out(session, page), "next_cursor": next_cursor}


def linked_to(org_id: str, kind: str, target_id: str) -> Any:
    """The ids of the interactions linked to a contact or a company (``kind``), as a subquery."""
    return select(InteractionLink.interaction_id).where(
        InteractionLink.org_id == org_id,
        InteractionLink.kind == kind,
        InteractionLink.target_id == target_id,
    )


def newest_first_page(
    session: Session, org_id: str, statement: Any, id_column: Any, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of ``statement`` by time-ordered id, newest first, and the cursor to the next
    (an id of ``org_id`` that names no row is refused)."""
    if cursor:
        last = cursor_row(session, id_column.class_, org_id, cursor)
        statement = statement.where(id_column < last.id)
    rows = session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)).all()
    page = list(rows[:limit])
    return page, page[-1].id if len(rows) > limit else None
