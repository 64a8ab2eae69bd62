"""Recording a change: bump the version, refresh the search text, announce the record.

Every write that affects a company or a contact goes through here, so the
search text and the outbox never miss one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm.database import UnitOfWork
from crm.errors import field_error
from crm.outbox import utcnow
from services.contacts import lookups, search_text, shapes
from services.contacts.exceptions import StaleVersion
from services.contacts.models import Company, Contact


def check_version(record: Any, expected: int | None, kind: str) -> None:
    """A stale ``version`` (someone changed the record since it was read) is a 409."""
    if expected is not None and expected != record.version:
        raise StaleVersion(
            f"version: {kind} {record.id} is at version {record.version}, not {expected}",
            [field_error("version", f"stale; current version is {record.version}")],
        )


def refresh_contact_search(session: Session, contact: Contact) -> None:
    current = lookups.current_employments(session, [contact.id])[contact.id]
    contact.search_text = search_text.contact_text(contact, current)


def refresh_company_search(company: Company) -> None:
    company.search_text = search_text.company_text(company)


def _touch(record: Any, *, new: bool) -> None:
    if not new:
        record.version += 1
        record.updated_at = utcnow()


def company_changed(uow: UnitOfWork, company: Company, actor_id: str, event_type: str) -> dict[str, Any]:
    """Announce ``company`` as it now is (``company_created``, ``_updated``, ``_deleted``)."""
    _touch(company, new=event_type == "company_created")
    refresh_company_search(company)
    uow.session.flush()
    record = shapes.company_out(company)
    uow.emit(event_type, org_id=company.org_id, actor_id=actor_id, record=record)
    return record


def contact_changed(uow: UnitOfWork, contact: Contact, actor_id: str, event_type: str) -> dict[str, Any]:
    """Announce ``contact`` with its interests and employments (``contact_created``, ...)."""
    _touch(contact, new=event_type == "contact_created")
    uow.session.flush()
    refresh_contact_search(uow.session, contact)
    uow.session.flush()
    record = shapes.contact_detail(uow.session, contact)
    uow.emit(event_type, org_id=contact.org_id, actor_id=actor_id, record=record)
    return record
