"""Geographic check-ins: a user starts a visit of an interaction's client where their phone is,
and ends it with a check-out that reports how long it lasted.

The distance is measured to the place the interaction visits: its first linked company with a
position, else its first linked contact with one (in the order the interaction lists them). An
interaction type may require a check-in within a radius of that place: beyond it the check-in is
refused with how far the user is. When no place has a position, the check-in is recorded without
a distance and says so. A user has at most one open visit per interaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import field_error
from crm.ids import new_id
from crm.records import has_values, record_of, replayed
from crm.times import aware, iso, utcnow
from services.interactions.checkin_schemas import CheckInRequest
from services.interactions.distances import distance_m, distance_text, too_far
from services.interactions.exceptions import (
    CheckInAlreadyOpen,
    InteractionNotFound,
    NoOpenCheckIn,
    TooFarToCheckIn,
)
from services.interactions.interactions import interaction_of
from services.interactions.models import CheckIn, Interaction, InteractionLink, InteractionType


@dataclass(frozen=True)
class Place:
    """What a check-in measures its distance to: a company or contact with a position."""

    kind: str  # "company" | "contact"
    id: str
    name: str
    latitude: float
    longitude: float


def visited_place(
    company_ids: list[str], contact_ids: list[str], places: dict[str, dict[str, Any]]
) -> Place | None:
    """The first of ``company_ids`` with a position, else the first of ``contact_ids`` with one,
    as ``places`` (the answer of ``contacts.positions``) has them; None when none has one."""
    for kind, ids, found in (
        ("company", company_ids, places.get("companies") or {}),
        ("contact", contact_ids, places.get("contacts") or {}),
    ):
        for record_id in ids:
            position = (found.get(record_id) or {}).get("position")
            if position:
                name = found[record_id].get("name") or record_id
                return Place(kind, record_id, name, position["latitude"], position["longitude"])
    return None


def linked_ids(session: Session, org_id: str, interaction_id: str) -> dict[str, list[str]]:
    """``{"company": [...], "contact": [...]}``: the live interaction's links in the order it
    lists them (by id); another organisation's interaction, or a deleted one, is not found."""
    interaction = interaction_of(session, org_id, interaction_id)
    links: dict[str, list[str]] = {"company": [], "contact": []}
    for kind, target_id in session.execute(
        select(InteractionLink.kind, InteractionLink.target_id)
        .where(InteractionLink.interaction_id == interaction.id)
        .order_by(InteractionLink.target_id)
    ):
        links.setdefault(kind, []).append(target_id)
    return links


def note_for(row: CheckIn) -> str | None:
    """What the answer says when the distance could not be measured."""
    if row.place_kind is not None:
        return None
    unchecked = f"; the {distance_text(row.radius_m)} radius was not checked" if row.radius_m else ""
    return (
        f"no position is known for this interaction's companies or contacts: no distance measured{unchecked}"
    )


def check_in_out(row: CheckIn) -> dict[str, Any]:
    place = {"kind": row.place_kind, "id": row.place_id, "name": row.place_name} if row.place_kind else None
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "user_id": row.user_id,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "accuracy_m": row.accuracy_m,
        "place": place,
        "position_known": place is not None,
        "distance_m": row.distance_m,
        "radius_m": row.radius_m,
        "note": note_for(row),
        "checked_in_at": iso(row.checked_in_at),
        "checked_out_at": iso(row.checked_out_at),
        "duration_seconds": row.duration_seconds,
    }


def _open_visit(session: Session, caller: Caller, interaction_id: str) -> CheckIn | None:
    return session.scalars(
        select(CheckIn).where(
            CheckIn.org_id == caller.org_id,
            CheckIn.interaction_id == interaction_id,
            CheckIn.user_id == caller.user_id,
            CheckIn.checked_out_at.is_(None),
        )
    ).one_or_none()


def check_in(
    uow: UnitOfWork,
    caller: Caller,
    interaction_id: str,
    request: CheckInRequest,
    places: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Open the caller's visit where the phone is, measured to the interaction's place among
    ``places`` (``contacts.positions`` of its links). The id of an existing check-in with the same
    position is a replay (``False``); an open visit is a conflict; beyond the type's radius the
    check-in is refused, saying how far the user is. Nothing is written when refused."""
    session = uow.session
    # Locked: two check-ins at once on one interaction are taken one after the other.
    interaction = interaction_of(session, caller.org_id, interaction_id, lock=True)
    same = {
        "interaction_id": interaction.id,
        "user_id": caller.user_id,
        "latitude": request.latitude,
        "longitude": request.longitude,
        "accuracy_m": request.accuracy_m,
    }
    existing = replayed(session, CheckIn, request.id, caller.org_id, lambda row: has_values(row, same))
    if existing is not None:
        return check_in_out(existing), False
    open_visit = _open_visit(session, caller, interaction.id)
    if open_visit is not None:
        raise CheckInAlreadyOpen(
            f"you checked in on interaction {interaction.id} at {iso(open_visit.checked_in_at)} "
            "and have not checked out: check out first",
            [field_error("interaction_id", f"open check-in {open_visit.id}")],
        )
    links = linked_ids(session, caller.org_id, interaction.id)
    place = visited_place(links["company"], links["contact"], places)
    kind = session.get(InteractionType, (caller.org_id, interaction.type_key))
    radius = kind.checkin_radius_m if kind is not None else None
    distance = None
    if place is not None:
        exact = distance_m(request.latitude, request.longitude, place.latitude, place.longitude)
        refusal = too_far(exact, radius, place.name) if radius else None
        if refusal is not None:
            raise TooFarToCheckIn(
                refusal,
                [field_error("latitude", refusal), field_error("longitude", refusal)],
            )
        distance = round(exact)
    row = CheckIn(
        id=request.id or new_id(),
        org_id=caller.org_id,
        interaction_id=interaction.id,
        user_id=caller.user_id,
        latitude=request.latitude,
        longitude=request.longitude,
        accuracy_m=request.accuracy_m,
        place_kind=place.kind if place else None,
        place_id=place.id if place else None,
        place_name=place.name[:500] if place else None,
        distance_m=distance,
        radius_m=radius,
        checked_in_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record = check_in_out(row)
    uow.emit("interaction_checked_in", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record, True


def check_out(uow: UnitOfWork, caller: Caller, interaction_id: str) -> dict[str, Any]:
    """Close the caller's open visit of the interaction, with its duration in seconds; no open
    visit is a conflict, and changes nothing. A visit of an interaction deleted meanwhile is
    closed all the same (the time was spent)."""
    session = uow.session
    interaction = record_of(
        session,
        Interaction,
        caller.org_id,
        interaction_id,
        InteractionNotFound,
        "interaction",
        lock=True,
        with_deleted=True,
    )
    row = _open_visit(session, caller, interaction.id)
    if row is None and interaction.deleted_at is not None:
        raise InteractionNotFound(f"no interaction {interaction_id}")
    if row is None:
        raise NoOpenCheckIn(
            f"you have no open check-in on interaction {interaction.id}: check in first",
            [field_error("interaction_id", "no open check-in")],
        )
    now = utcnow()
    row.checked_out_at = now
    row.duration_seconds = max(0, int((now - aware(row.checked_in_at)).total_seconds()))
    session.flush()
    record = check_in_out(row)
    uow.emit("interaction_checked_out", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record


def list_check_ins(session: Session, caller: Caller, interaction_id: str) -> list[dict[str, Any]]:
    """The interaction's check-ins, every user's, oldest first."""
    interaction = interaction_of(session, caller.org_id, interaction_id)
    rows = session.scalars(
        select(CheckIn)
        .where(CheckIn.org_id == caller.org_id, CheckIn.interaction_id == interaction.id)
        .order_by(CheckIn.checked_in_at, CheckIn.id)
    ).all()
    return [check_in_out(row) for row in rows]
