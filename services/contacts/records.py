"""Finding records in the caller's organisation, and the records as callers and events see them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.outbox import utcnow
from services.contacts.exceptions import CompanyNotFound, ContactNotFound
from services.contacts.models import Company, Contact, ContactInterest, Employment

ADDRESS_KEYS = ("street", "postal_code", "city", "country")
SOCIAL_KEYS = ("linkedin", "facebook", "x", "viadeo")


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def today() -> date:
    return utcnow().date()


def is_current(employment: Employment, on: date) -> bool:
    return employment.end_date is None or employment.end_date >= on


def current_clause(on: date) -> Any:
    """SQL for ``is_current``."""
    return or_(Employment.end_date.is_(None), Employment.end_date >= on)


def _iso(moment: datetime | date | None) -> str | None:
    if isinstance(moment, datetime):
        return aware(moment).isoformat()
    return moment.isoformat() if moment is not None else None


# -- finding ---------------------------------------------------------------------


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


# -- as callers see them ---------------------------------------------------------


def _address(record: Any) -> dict[str, str | None]:
    return {key: getattr(record, f"address_{key}") for key in ADDRESS_KEYS}


def _social(record: Any) -> dict[str, str | None]:
    social = record.social or {}
    return {key: social.get(key) for key in SOCIAL_KEYS}


def company_out(company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "org_id": company.org_id,
        "name": company.name,
        "group": company.group_name,
        "address": _address(company),
        "phone": company.phone,
        "phone_e164": company.phone_e164,
        "email": company.email,
        "website": company.website,
        "social": _social(company),
        "notes": company.notes,
        "tags": list(company.tags or []),
        "version": company.version,
        "created_at": _iso(company.created_at),
        "updated_at": _iso(company.updated_at),
        "deleted_at": _iso(company.deleted_at),
    }


def company_ref(company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "name": company.name,
        "group": company.group_name,
        "deleted": company.deleted_at is not None,
    }


def employment_out(employment: Employment, company: Company) -> dict[str, Any]:
    return {
        "id": employment.id,
        "org_id": employment.org_id,
        "contact_id": employment.contact_id,
        "company_id": employment.company_id,
        "company": company_ref(company),
        "function": employment.function,
        "phone": employment.phone,
        "phone_e164": employment.phone_e164,
        "mobile": employment.mobile,
        "mobile_e164": employment.mobile_e164,
        "email": employment.email,
        "start_date": _iso(employment.start_date),
        "end_date": _iso(employment.end_date),
        # A deleted company employs no one, even on the day its employments ended.
        "current": is_current(employment, today()) and company.deleted_at is None,
        "version": employment.version,
        "created_at": _iso(employment.created_at),
        "updated_at": _iso(employment.updated_at),
    }


def contact_out(contact: Contact, interests: list[str]) -> dict[str, Any]:
    return {
        "id": contact.id,
        "org_id": contact.org_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "phone_e164": contact.phone_e164,
        "mobile": contact.mobile,
        "mobile_e164": contact.mobile_e164,
        "email": contact.email,
        "address": _address(contact),
        "note": contact.note,
        "social": _social(contact),
        "interests": sorted(interests),
        "version": contact.version,
        "created_at": _iso(contact.created_at),
        "updated_at": _iso(contact.updated_at),
        "deleted_at": _iso(contact.deleted_at),
    }


def employment_history(session: Session, contact_id: str) -> list[dict[str, Any]]:
    """Every employment of the contact that is not deleted, latest start first."""
    rows = session.execute(
        select(Employment, Company)
        .join(Company, Company.id == Employment.company_id)
        .where(Employment.contact_id == contact_id, Employment.deleted_at.is_(None))
    ).all()
    # Unknown start dates last; among equal starts, the latest recorded first.
    rows = sorted(
        rows, key=lambda row: (row[0].start_date or date.min, aware(row[0].created_at)), reverse=True
    )
    return [employment_out(employment, company) for employment, company in rows]


def contact_detail(session: Session, contact: Contact) -> dict[str, Any]:
    """The contact with its interests and its whole employment history: the contact record."""
    interests = interest_ids(session, [contact.id])[contact.id]
    return {**contact_out(contact, interests), "employments": employment_history(session, contact.id)}


def current_company_out(employment: Employment, company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "name": company.name,
        "group": company.group_name,
        "function": employment.function,
        "employment_id": employment.id,
    }


def contact_list_items(session: Session, contacts: list[Contact]) -> list[dict[str, Any]]:
    """Contacts with their interests and current companies, loaded in two queries."""
    ids = [contact.id for contact in contacts]
    interests = interest_ids(session, ids)
    current = current_employments(session, ids)
    return [
        {
            **contact_out(contact, interests[contact.id]),
            "current_companies": [current_company_out(e, c) for e, c in current[contact.id]],
        }
        for contact in contacts
    ]


def employee_out(employment: Employment, contact: Contact) -> dict[str, Any]:
    return {
        "contact_id": contact.id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "function": employment.function,
        "employment_id": employment.id,
    }


def current_employees(session: Session, company_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each company's current employees who are not deleted, by last and first name."""
    ids = list(company_ids)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(
        select(Employment, Contact)
        .join(Contact, Contact.id == Employment.contact_id)
        .where(
            Employment.company_id.in_(ids),
            Employment.deleted_at.is_(None),
            Contact.deleted_at.is_(None),
            current_clause(today()),
        )
    ).all()
    rows = sorted(rows, key=lambda row: (row[1].last_name or "", row[1].first_name or "", row[1].id))
    for employment, contact in rows:
        found[employment.company_id].append(employee_out(employment, contact))
    return found
