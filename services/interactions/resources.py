"""Resources (rooms, vehicles, hotel rooms) and their bookings by interactions.

Admins keep the resources; every user of the organisation sees them. A writer
books a resource for an interaction: the booking copies the interaction's span
(``spans.span``), and two bookings of one resource may not overlap
unless the organisation allows double booking.

Concurrency: the resource row is locked (``SELECT ... FOR UPDATE``) before the
overlap check, so two bookings of one resource cannot both pass. Locks are
taken in one order everywhere, the interaction first, then its resources by
id, so booking and moving interactions cannot deadlock each other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from crm.ids import new_id
from crm.records import has_values, record_of, replayed
from crm.times import iso, utcnow
from services.interactions.exceptions import DoubleBooking, ResourceNotFound
from services.interactions.interaction_records import summary_out
from services.interactions.interactions import interaction_of
from services.interactions.models import Booking, Interaction, Resource
from services.interactions.resource_schemas import ResourceCreate, ResourceListQuery, ResourceUpdate
from services.interactions.spans import day_window, span

# How many conflicting interactions a refusal names.
MAX_CONFLICTS_NAMED = 10


def resource_of(session: Session, org_id: str, resource_id: str, *, lock: bool = False) -> Resource:
    """A resource of ``org_id``; another organisation's is not found."""
    return record_of(session, Resource, org_id, resource_id, ResourceNotFound, "resource", lock=lock)


def resource_out(row: Resource) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "description": row.description,
        "active": row.active,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def booking_out(row: Booking) -> dict[str, Any]:
    return {
        "resource_id": row.resource_id,
        "interaction_id": row.interaction_id,
        "start_at": iso(row.start_at),
        "end_at": iso(row.end_at),
        "booked_by": row.booked_by,
        "created_at": iso(row.created_at),
    }


# -- resources ------------------------------------------------------------------------------


def create_resource(session: Session, caller: Caller, request: ResourceCreate) -> tuple[dict[str, Any], bool]:
    """A new resource; an existing id with the same content is a replay (``False``)."""
    existing = replayed(
        session,
        Resource,
        request.id,
        caller.org_id,
        lambda row: has_values(row, request.model_dump(exclude={"id"})),
    )
    if existing is not None:
        return resource_out(existing), False
    now = utcnow()
    row = Resource(
        id=request.id or new_id(),
        org_id=caller.org_id,
        name=request.name,
        kind=request.kind,
        description=request.description,
        active=request.active,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return resource_out(row), True


def update_resource(
    session: Session, caller: Caller, resource_id: str, request: ResourceUpdate
) -> dict[str, Any]:
    """Change the fields given. A resource made inactive keeps its bookings but takes no new ones."""
    row = resource_of(session, caller.org_id, resource_id, lock=True)
    changes = request.model_dump(exclude_unset=True)
    for field in ("name", "kind", "active"):
        if field in changes and changes[field] is None:
            raise invalid(field, "may not be null")
    for field, value in changes.items():
        setattr(row, field, value)
    if session.is_modified(row):
        row.updated_at = utcnow()
    session.flush()
    return resource_out(row)


def list_resources(session: Session, org_id: str, query: ResourceListQuery) -> dict[str, Any]:
    """By name (then id); the cursor is the id of the last resource of the previous page."""
    statement = select(Resource).where(Resource.org_id == org_id)
    if query.kind is not None:
        statement = statement.where(Resource.kind == query.kind)
    if query.active is not None:
        statement = statement.where(Resource.active == query.active)
    if query.cursor:
        last = session.get(Resource, query.cursor)
        if last is None or last.org_id != org_id:
            raise invalid("cursor", "not a cursor of this list")
        statement = statement.where(
            (Resource.name > last.name) | ((Resource.name == last.name) & (Resource.id > last.id))
        )
    rows = session.scalars(statement.order_by(Resource.name, Resource.id).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    return {
        "items": [resource_out(row) for row in page],
        "next_cursor": page[-1].id if len(rows) > query.limit else None,
    }


# -- bookings -------------------------------------------------------------------------------


def book(
    session: Session, caller: Caller, interaction_id: str, resource_id: str, allow_double_booking: bool
) -> dict[str, Any]:
    """Book the resource for the interaction's span; booking it again returns the booking.

    An inactive resource is refused (invalid ``resource_id``); an overlap with
    another interaction's booking is ``DoubleBooking`` unless allowed.
    """
    interaction = interaction_of(session, caller.org_id, interaction_id, lock=True)
    resource = resource_of(session, caller.org_id, resource_id, lock=True)
    existing = session.get(Booking, (resource.id, interaction.id))
    if existing is not None:
        return booking_out(existing)
    if not resource.active:
        raise invalid("resource_id", f"resource {resource.id} ({resource.name}) is inactive")
    start, end = span(interaction)
    if not allow_double_booking:
        _refuse_overlaps(session, resource, interaction, start, end)
    row = Booking(
        resource_id=resource.id,
        interaction_id=interaction.id,
        org_id=caller.org_id,
        start_at=start,
        end_at=end,
        booked_by=caller.user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return booking_out(row)


def release(session: Session, caller: Caller, interaction_id: str, resource_id: str) -> None:
    """Free the resource from the interaction; releasing what is not booked changes nothing."""
    interaction = interaction_of(session, caller.org_id, interaction_id, lock=True)
    resource = resource_of(session, caller.org_id, resource_id)
    session.execute(
        delete(Booking).where(Booking.resource_id == resource.id, Booking.interaction_id == interaction.id)
    )


def recheck_bookings(
    session: Session, org_id: str, interaction_row: Interaction, allow_double_booking: bool
) -> None:
    """Move the interaction's bookings to its current span; for the core, when its time changes.

    Call it in the transaction that changes ``start_at``, ``end_at`` or
    ``all_day``, after setting them and after locking the interaction
    (``interaction_of(..., lock=True)``). Each booked resource is locked, by id,
    then checked: an overlap with another interaction's booking raises
    ``DoubleBooking`` (so the whole change rolls back) unless
    ``allow_double_booking``, the organisation setting of that name.
    """
    start, end = span(interaction_row)
    bookings = session.scalars(
        select(Booking)
        .where(Booking.org_id == org_id, Booking.interaction_id == interaction_row.id)
        .order_by(Booking.resource_id)
    ).all()
    for booking in bookings:
        resource = resource_of(session, org_id, booking.resource_id, lock=True)
        if not allow_double_booking:
            _refuse_overlaps(session, resource, interaction_row, start, end)
        booking.start_at, booking.end_at = start, end
    session.flush()


def overlapping(
    session: Session, resource: Resource, interaction_id: str, start: datetime, end: datetime
) -> list[tuple[Booking, Interaction]]:
    """Other live interactions' bookings of the resource that overlap ``[start, end)``."""
    query = (
        select(Booking, Interaction)
        .join(Interaction, Interaction.id == Booking.interaction_id)
        .where(
            Booking.org_id == resource.org_id,
            Booking.resource_id == resource.id,
            Booking.interaction_id != interaction_id,
            Booking.start_at < end,
            Booking.end_at > start,
            Interaction.deleted_at.is_(None),
        )
        .order_by(Booking.start_at, Booking.interaction_id)
        .limit(MAX_CONFLICTS_NAMED)
    )
    return [(booking, other) for booking, other in session.execute(query)]


def _refuse_overlaps(
    session: Session, resource: Resource, interaction: Interaction, start: datetime, end: datetime
) -> None:
    conflicts = overlapping(session, resource, interaction.id, start, end)
    if not conflicts:
        return
    errors = [
        {
            "field": "resource_id",
            "message": f"{resource.name} is booked by interaction {other.id} ({other.subject}) "
            f"from {iso(booking.start_at)} to {iso(booking.end_at)}",
            "resource_id": resource.id,
            "interaction_id": other.id,
            "subject": other.subject,
        }
        for booking, other in conflicts
    ]
    raise DoubleBooking(errors[0]["message"], errors)


# -- planning -------------------------------------------------------------------------------


def planning(session: Session, org_id: str, resource_id: str, since: date, until: date) -> dict[str, Any]:
    """The resource's bookings over the days, by time, each with its interaction's summary."""
    start, end = day_window(since, until)
    resource = resource_of(session, org_id, resource_id)
    query = (
        select(Booking, Interaction)
        .join(Interaction, Interaction.id == Booking.interaction_id)
        .where(
            Booking.org_id == org_id,
            Booking.resource_id == resource.id,
            Booking.start_at < end,
            Booking.end_at > start,
            Interaction.deleted_at.is_(None),
        )
        .order_by(Booking.start_at, Booking.end_at, Booking.interaction_id)
    )
    bookings = [
        {**booking_out(booking), "interaction": summary_out(interaction)}
        for booking, interaction in session.execute(query)
    ]
    return {"resource": resource_out(resource), "bookings": bookings}
