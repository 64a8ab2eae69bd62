"""Employments: a contact at a company of the same organisation, with dates.

An employment is part of its contact's record: every change here is announced
as ``contact_updated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import check_version, has_values, record_of, replayed
from crm.times import utcnow
from services.contacts import changes, lookups, phones, shapes
from services.contacts.exceptions import EmploymentNotFound
from services.contacts.models import Company, Contact, Employment
from services.contacts.schemas import EmploymentCreate, EmploymentFields, EmploymentUpdate


def check_dates(start: date | None, end: date | None, prefix: str = "") -> None:
    if start is not None and end is not None and end < start:
        raise invalid(f"{prefix}end_date", "must not be before start_date")


def _values(fields: EmploymentFields, region: str, prefix: str) -> dict[str, Any]:
    check_dates(fields.start_date, fields.end_date, prefix)
    return {
        "function": fields.function,
        "phone": fields.phone,
        "phone_e164": phones.normalise(fields.phone, region, f"{prefix}phone"),
        "mobile": fields.mobile,
        "mobile_e164": phones.normalise(fields.mobile, region, f"{prefix}mobile"),
        "email": fields.email,
        "start_date": fields.start_date,
        "end_date": fields.end_date,
    }


@dataclass(frozen=True)
class Planned:
    """An employment checked and ready to be written for a contact."""

    id: str | None
    company: Company
    values: dict[str, Any]
    prefix: str

    def matches(self, employment: Employment) -> bool:
        return (
            employment.deleted_at is None
            and employment.company_id == self.company.id
            and (self.id is None or employment.id == self.id)
            and has_values(employment, self.values)
        )


def plan(
    session: Session,
    caller: Caller,
    fields: EmploymentFields,
    company_id: str,
    region: str,
    prefix: str,
    found: dict[str, Any] | None = None,
) -> Planned:
    """Check an employment before anything is written: dates, phones, the company (among those
    ``found`` already, when the caller read them: ``lookups.companies_and_email_holder``)."""
    values = _values(fields, region, prefix)
    field = f"{prefix}company_id"
    if found is None:
        company = lookups.company_of(session, caller.org_id, company_id, field=field)
    else:
        company = lookups.company_in(found, company_id, field)
    return Planned(fields.id, company, values, prefix)


def write(
    uow: UnitOfWork,
    caller: Caller,
    contact: Contact,
    planned: Planned,
    *,
    rows: changes.NewRows | None = None,
) -> tuple[Employment, bool]:
    """Write a planned employment; the same id with the same content returns the existing one.

    With ``rows``, a new employment joins them, inserted when they are (a contact being
    created writes itself and its employments together)."""
    existing = replayed(
        uow.session,
        Employment,
        planned.id,
        caller.org_id,
        lambda employment: employment.contact_id == contact.id and planned.matches(employment),
        field=f"{planned.prefix}id",
    )
    if existing is not None:
        return existing, False
    values = dict(
        id=planned.id or new_id(),
        org_id=caller.org_id,
        contact_id=contact.id,
        company_id=planned.company.id,
        **planned.values,
    )
    if rows is not None:
        return rows.new(Employment, utcnow(), **values), True
    employment = changes.new_record(Employment, utcnow(), **values)
    uow.session.add(employment)
    uow.session.flush()
    return employment, True


def employment_of(
    session: Session, org_id: str, employment_id: str, *, lock: bool = False
) -> tuple[Employment, Contact, Company]:
    """An employment of a contact of ``org_id``; deleted ones, or a deleted contact's, are not found.
    ``lock`` holds the employment's row until the transaction ends."""
    employment = record_of(
        session, Employment, org_id, employment_id, EmploymentNotFound, "employment", lock=lock
    )
    contact = session.get(Contact, employment.contact_id)
    if contact.deleted_at is not None:
        raise EmploymentNotFound(f"no employment {employment_id}")
    return employment, contact, session.get(Company, employment.company_id)


def add(uow: UnitOfWork, caller: Caller, contact_id: str, request: EmploymentCreate, region: str) -> dict:
    contact = lookups.contact_of(uow.session, caller.org_id, contact_id)
    planned = plan(uow.session, caller, request, request.company_id, region, "")
    employment, created = write(uow, caller, contact, planned)
    if created:
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")
    return {**shapes.employment_out(employment, planned.company), "created": created}


def update(
    uow: UnitOfWork, caller: Caller, employment_id: str, request: EmploymentUpdate, region: str
) -> dict[str, Any]:
    session = uow.session
    employment, contact, company = employment_of(session, caller.org_id, employment_id, lock=True)
    check_version(employment, request.version, "employment")
    given = request.model_dump(exclude_unset=True, exclude={"version"})
    before = shapes.employment_out(employment, company)
    for name in ("function", "email", "start_date", "end_date"):
        if name in given:
            setattr(employment, name, given[name])
    for name in ("phone", "mobile"):
        if name in given:
            setattr(employment, name, given[name])
            setattr(employment, f"{name}_e164", phones.normalise(given[name], region, name))
    check_dates(employment.start_date, employment.end_date)
    if shapes.employment_out(employment, company) != before:
        changes.touch(employment)
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")
    return shapes.employment_out(employment, company)


def delete(uow: UnitOfWork, caller: Caller, employment_id: str) -> None:
    employment, contact, _ = employment_of(uow.session, caller.org_id, employment_id)
    employment.deleted_at = utcnow()
    changes.contact_changed(uow, contact, caller.user_id, "contact_updated")
