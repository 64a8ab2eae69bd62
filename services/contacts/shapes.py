"""The records as callers and events see them: companies, contacts with their employments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.times import aware, iso
from services.contacts.lookups import (
    current_employments,
    current_staff,
    employment_pairs,
    interest_ids,
    is_current,
    today,
)
from services.contacts.models import Company, Contact, Employment

ADDRESS_KEYS = ("street", "postal_code", "city", "country")
SOCIAL_KEYS = ("linkedin", "facebook", "x", "viadeo")


def _iso(moment: datetime | date | None) -> str | None:
    """Times in UTC (``crm.times.iso``), dates as they are."""
    if isinstance(moment, datetime):
        return iso(moment)
    return moment.isoformat() if moment is not None else None


def position_out(record: Any) -> dict[str, Any] | None:
    if record.latitude is None or record.longitude is None:
        return None
    return {"latitude": record.latitude, "longitude": record.longitude, "source": record.position_source}


def _address(record: Any) -> dict[str, Any]:
    parts = {key: getattr(record, f"address_{key}") for key in ADDRESS_KEYS}
    return {**parts, "position": position_out(record)}


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
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "website": contact.website,
        "social": _social(contact),
        "interests": sorted(interests),
        "version": contact.version,
        "created_at": _iso(contact.created_at),
        "updated_at": _iso(contact.updated_at),
        "deleted_at": _iso(contact.deleted_at),
    }


def history_out(history: Iterable[tuple[Employment, Company]]) -> list[dict[str, Any]]:
    """Employments (with their companies), latest start first."""
    # Unknown start dates last; among equal starts, the latest recorded first.
    rows = sorted(
        history, key=lambda row: (row[0].start_date or date.min, aware(row[0].created_at)), reverse=True
    )
    return [employment_out(employment, company) for employment, company in rows]


def employment_history(session: Session, contact_id: str) -> list[dict[str, Any]]:
    """Every employment of the contact that is not deleted, latest start first."""
    return history_out(employment_pairs(session, [contact_id])[contact_id])


def contact_record(
    contact: Contact, interests: list[str], history: Iterable[tuple[Employment, Company]]
) -> dict[str, Any]:
    """The contact record: the contact with its interests and its employments (``history``)."""
    return {**contact_out(contact, interests), "employments": history_out(history)}


def contact_detail(session: Session, contact: Contact) -> dict[str, Any]:
    """The contact with its interests and its whole employment history: the contact record."""
    interests = interest_ids(session, [contact.id])[contact.id]
    return contact_record(contact, interests, employment_pairs(session, [contact.id])[contact.id])


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
            "distance_m": None,  # set by a nearest-first list
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
    staff = current_staff(session, company_ids)
    return defaultdict(
        list,
        {company_id: [employee_out(e, c) for e, c in pairs] for company_id, pairs in staff.items()},
    )
