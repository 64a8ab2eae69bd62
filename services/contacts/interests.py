"""Interests: the organisation's own list ("Comptable", "Libre"), and which contacts carry them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import InvalidInput, field_error
from crm.ids import new_id
from crm.records import record_of, replayed
from crm.times import iso, utcnow
from services.contacts import changes, lookups
from services.contacts.exceptions import DuplicateInterest, InterestNotFound
from services.contacts.models import Contact, ContactInterest, Interest
from services.contacts.schemas import InterestCreate


def name_key(name: str) -> str:
    return name.casefold()


def interest_out(interest: Interest) -> dict[str, Any]:
    return {
        "id": interest.id,
        "org_id": interest.org_id,
        "name": interest.name,
        "created_at": iso(interest.created_at),
    }


def list_all(session: Session, org_id: str) -> list[dict[str, Any]]:
    found = session.scalars(
        select(Interest)
        .where(Interest.org_id == org_id, Interest.deleted_at.is_(None))
        .order_by(Interest.name_key, Interest.id)
    )
    return [interest_out(interest) for interest in found]


def by_name(session: Session, org_id: str, name: str) -> Interest | None:
    return session.scalars(
        select(Interest).where(
            Interest.org_id == org_id, Interest.name_key == name_key(name), Interest.deleted_at.is_(None)
        )
    ).first()


def create(uow: UnitOfWork, caller: Caller, request: InterestCreate) -> tuple[dict[str, Any], bool]:
    """Add an interest; its name is unique in the organisation whatever its case."""
    session = uow.session
    existing = replayed(
        session, Interest, request.id, caller.org_id, lambda interest: interest.name == request.name
    )
    if existing is not None:
        return interest_out(existing), False
    same_name = by_name(session, caller.org_id, request.name)
    if same_name is not None:
        raise DuplicateInterest(
            f"name: the interest {same_name.name!r} already exists ({same_name.id})",
            [{**field_error("name", f"already exists as {same_name.name!r}"), "interest_id": same_name.id}],
        )
    interest = Interest(
        id=request.id or new_id(),
        org_id=caller.org_id,
        name=request.name,
        name_key=name_key(request.name),
        created_at=utcnow(),
    )
    session.add(interest)
    session.flush()
    return interest_out(interest), True


def delete_interest(uow: UnitOfWork, caller: Caller, interest_id: str) -> None:
    """Delete softly and take it off every contact (each announced as updated)."""
    session = uow.session
    interest = record_of(
        session, Interest, caller.org_id, interest_id, InterestNotFound, "interest", with_deleted=True
    )
    if interest.deleted_at is not None:
        return
    contacts = session.scalars(
        select(Contact)
        .join(ContactInterest, ContactInterest.contact_id == Contact.id)
        .where(ContactInterest.interest_id == interest.id, Contact.deleted_at.is_(None))
    ).all()
    session.execute(delete(ContactInterest).where(ContactInterest.interest_id == interest.id))
    interest.deleted_at = utcnow()
    for contact in contacts:
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")


def checked_ids(session: Session, org_id: str, ids: Iterable[str], field: str) -> list[str]:
    """``ids`` without repeats, each an interest of ``org_id``; others are named in the error."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:  # most contacts are created without interests: no query for them
        return wanted
    known = set(
        session.scalars(
            select(Interest.id).where(
                Interest.id.in_(wanted), Interest.org_id == org_id, Interest.deleted_at.is_(None)
            )
        )
    )
    unknown = [
        field_error(f"{field}.{index}", f"no interest {interest_id}")
        for index, interest_id in enumerate(ids)
        if interest_id not in known
    ]
    if unknown:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in unknown), unknown)
    return wanted


def set_for_contact(session: Session, contact: Contact, interest_ids: list[str]) -> bool:
    """Make ``interest_ids`` the contact's interests; returns whether anything changed."""
    current = set(lookups.interest_ids(session, [contact.id])[contact.id])
    wanted = set(interest_ids)
    if current == wanted:
        return False
    if current - wanted:
        session.execute(
            delete(ContactInterest).where(
                ContactInterest.contact_id == contact.id, ContactInterest.interest_id.in_(current - wanted)
            )
        )
    for interest_id in sorted(wanted - current):
        session.add(ContactInterest(contact_id=contact.id, interest_id=interest_id, org_id=contact.org_id))
    session.flush()
    return True
