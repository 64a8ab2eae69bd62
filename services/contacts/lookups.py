"""Finding records in the caller's organisation: another organisation's record, or a deleted
one, is not found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.outbox import utcnow
from services.contacts.exceptions import CompanyNotFound, ContactNotFound
from services.contacts.models import Company, Contact, ContactInterest, Employment


def today() -> date:
    return utcnow().date()


def is_current(employment: Employment, on: date) -> bool:
    return employment.end_date is None or employment.end_date >= on


def current_clause(on: date) -> Any:
    """SQL for ``is_current``."""
    return or_(Employment.end_date.is_(None), Employment.end_date >= on)


def company_of(
    session: Session, org_id: str, company_id: str, field: str | None = None, *, lock: bool = False
) -> Company:
    """A company of ``org_id`` that is not deleted; anything else is not found.

    Named by a request body's ``field`` (an employment's company), it is invalid
    input naming the field (422), as other services answer for links; in the
    path it is not found (404). ``lock`` holds its row until the transaction ends
    (an update checking the version it was read at).
    """
    company = session.get(Company, company_id, with_for_update=lock) if isinstance(company_id, str) else None
    if company is None or company.org_id != org_id or company.deleted_at is not None:
        if field:
            raise invalid(field, f"no company {company_id} in your organisation")
        raise CompanyNotFound(f"no company {company_id}")
    return company


def contact_of(session: Session, org_id: str, contact_id: str, *, lock: bool = False) -> Contact:
    """A contact of ``org_id`` that is not deleted; anything else is not found. ``lock`` holds
    its row until the transaction ends (an update checking the version it was read at)."""
    contact = session.get(Contact, contact_id, with_for_update=lock) if isinstance(contact_id, str) else None
    if contact is None or contact.org_id != org_id or contact.deleted_at is not None:
        raise ContactNotFound(f"no contact {contact_id}")
    return contact


def current_employments(session: Session, contact_ids: Iterable[str]) -> dict[str, list[tuple[Any, Any]]]:
    """Each contact's current (employment, company) pairs, by company name."""
    ids = list(contact_ids)
    found: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(
        select(Employment, Company)
        .join(Company, Company.id == Employment.company_id)
        .where(
            Employment.contact_id.in_(ids),
            Employment.deleted_at.is_(None),
            Company.deleted_at.is_(None),
            current_clause(today()),
        )
        .order_by(Company.name, Employment.id)
    ).all()
    for employment, company in rows:
        found[employment.contact_id].append((employment, company))
    return found


def interest_ids(session: Session, contact_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(contact_ids)
    found: dict[str, list[str]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(
        select(ContactInterest.contact_id, ContactInterest.interest_id)
        .where(ContactInterest.contact_id.in_(ids))
        .order_by(ContactInterest.interest_id)
    ).all()
    for contact_id, interest_id in rows:
        found[contact_id].append(interest_id)
    return found
