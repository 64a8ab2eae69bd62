"""Companies: create, change, read with their current employees; archive, restore, purge.

Deleting a company archives it: it leaves lists and searches, its employments
stay as they are (no longer current while it is archived), and restoring it
brings them back. Only an admin purges an archived company for good, with the
employments at it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import check_version, has_values, record_of, replayed
from crm.times import utcnow
from services.contacts import changes, columns, contacts, employments, lookups, phones, shapes
from services.contacts.exceptions import CompanyNotFound, NotArchived
from services.contacts.models import Company, Contact, Employment
from services.contacts.schemas import CompanyCreate, CompanyUpdate, CompanyWithContacts, EmploymentFields


def _values(request: CompanyCreate, region: str, prefix: str) -> dict[str, Any]:
    return {
        "name": request.name,
        "group_name": request.group,
        **columns.address_columns(request.address),
        "phone": request.phone,
        "phone_e164": phones.normalise(request.phone, region, f"{prefix}phone"),
        "email": request.email,
        "website": request.website,
        "social": columns.social_value(request.social),
        "notes": request.notes,
        "tags": list(request.tags),
    }


def create(
    uow: UnitOfWork, caller: Caller, request: CompanyCreate, region: str, prefix: str = ""
) -> tuple[Company, dict[str, Any], bool]:
    """Create a company; the same id with the same content returns the existing one."""
    values = _values(request, region, prefix)
    existing = replayed(
        uow.session,
        Company,
        request.id,
        caller.org_id,
        lambda company: has_values(company, values),
        field=f"{prefix}id",
    )
    if existing is not None:
        return existing, shapes.company_out(existing), False
    company = changes.new_record(Company, utcnow(), id=request.id or new_id(), org_id=caller.org_id, **values)
    uow.session.add(company)
    record = changes.company_changed(uow, company, caller.user_id, "company_created")
    return company, record, True


def update(
    uow: UnitOfWork, caller: Caller, company_id: str, request: CompanyUpdate, region: str
) -> dict[str, Any]:
    session = uow.session
    company = lookups.company_of(session, caller.org_id, company_id, lock=True)
    check_version(company, request.version, "company")
    given = request.model_dump(exclude_unset=True, exclude={"version"})
    before = shapes.company_out(company)
    if "name" in given and given["name"] is None:
        raise invalid("name", "a company needs a name; it cannot be cleared")
    renamed = ("name" in given and given["name"] != company.name) or (
        "group" in given and given["group"] != company.group_name
    )
    for name, column in (("name", "name"), ("group", "group_name"), ("email", "email")):
        if name in given:
            setattr(company, column, given[name])
    for name in ("website", "notes"):
        if name in given:
            setattr(company, name, given[name])
    if "phone" in given:
        company.phone = given["phone"]
        company.phone_e164 = phones.normalise(given["phone"], region, "phone")
    if "tags" in given:
        company.tags = list(given["tags"] or [])
    if "address" in given:
        columns.apply_address(company, given["address"])
    if "social" in given:
        company.social = columns.merged_social(company.social, given["social"])
    if shapes.company_out(company) == before:
        return before
    record = changes.company_changed(uow, company, caller.user_id, "company_updated")
    if renamed:
        # Its current employees are found by its name and group.
        for contact in _current_employees(uow, company):
            changes.refresh_contact_search(session, contact)
    return record


def _current_employees(uow: UnitOfWork, company: Company) -> list[Contact]:
    employed = select(Employment.contact_id).where(
        Employment.company_id == company.id,
        Employment.deleted_at.is_(None),
        lookups.current_clause(lookups.today()),
    )
    return list(
        uow.session.scalars(select(Contact).where(Contact.id.in_(employed), Contact.deleted_at.is_(None)))
    )


def get(session: Session, caller: Caller, company_id: str) -> dict[str, Any]:
    company = lookups.company_of(session, caller.org_id, company_id)
    employees = shapes.current_employees(session, [company.id])[company.id]
    return {**shapes.company_out(company), "contacts": employees}


MAX_REFS = 1000


def refs(session: Session, caller: Caller, company_ids: Any) -> dict[str, dict[str, Any]]:
    """Name, group and deleted flag of the caller's companies among ``company_ids``, by id.

    For other services' lists (the sales pipeline); ids of other organisations
    or of no company are left out.
    """
    if (
        not isinstance(company_ids, list)
        or len(company_ids) > MAX_REFS
        or not all(isinstance(company_id, str) for company_id in company_ids)
    ):
        raise invalid("company_ids", f"a list of at most {MAX_REFS} company ids")
    if not company_ids:
        return {}
    found = session.scalars(
        select(Company).where(Company.org_id == caller.org_id, Company.id.in_(set(company_ids)))
    )
    return {company.id: shapes.company_ref(company) for company in found}


def _archived_or_live(session: Session, caller: Caller, company_id: str) -> Company:
    return record_of(
        session, Company, caller.org_id, company_id, CompanyNotFound, "company", lock=True, with_deleted=True
    )


def _announce_employees(uow: UnitOfWork, caller: Caller, employees: list[Contact]) -> None:
    """Their records say whether the company employs them now: announced with their new search text."""
    for contact in employees:
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")


def delete(uow: UnitOfWork, caller: Caller, company_id: str) -> None:
    """Archive: the company leaves lists and searches; its employments stay, not current while it
    is archived, and its current employees are announced so (``contact_updated``).

    Archiving an archived company again changes nothing (a replayed delete).
    """
    company = _archived_or_live(uow.session, caller, company_id)
    if company.deleted_at is not None:
        return
    employees = _current_employees(uow, company)
    company.deleted_at = utcnow()
    changes.company_changed(uow, company, caller.user_id, "company_deleted")
    _announce_employees(uow, caller, employees)


def restore(uow: UnitOfWork, caller: Caller, company_id: str) -> dict[str, Any]:
    """Bring an archived company back with its employments (``company_updated``); a live one is
    ``NotArchived``."""
    company = _archived_or_live(uow.session, caller, company_id)
    if company.deleted_at is None:
        raise NotArchived(f"company {company_id} is not archived: only an archived company is restored")
    company.deleted_at = None
    record = changes.company_changed(uow, company, caller.user_id, "company_updated")
    _announce_employees(uow, caller, _current_employees(uow, company))
    return record


def purge(uow: UnitOfWork, caller: Caller, company_id: str) -> None:
    """Delete an archived company for good, with every employment at it (``company_purged``);
    the contacts stay, and those whose history named it are announced (``contact_updated``).
    A live company is ``NotArchived``: archive it first."""
    session = uow.session
    company = _archived_or_live(session, caller, company_id)
    if company.deleted_at is None:
        raise NotArchived(f"company {company_id} is not archived: archive it (DELETE) before purging it")
    at_company = select(Employment).where(Employment.company_id == company.id)
    held = list(session.scalars(at_company))
    concerned = {e.contact_id for e in held if e.deleted_at is None}
    for employment in held:
        session.delete(employment)
    session.flush()
    for contact in session.scalars(select(Contact).where(Contact.id.in_(concerned)).order_by(Contact.id)):
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")
    session.delete(company)
    session.flush()
    uow.emit("company_purged", org_id=caller.org_id, actor_id=caller.user_id, record={"id": company_id})


def create_with_contacts(
    uow: UnitOfWork, caller: Caller, request: CompanyWithContacts, region: str
) -> dict[str, Any]:
    """A company and contacts employed there, all or nothing; errors name ``contacts.N.field``."""
    company, company_record, created = create(uow, caller, request.company, region, prefix="company.")
    added = []
    for index, entry in enumerate(request.contacts):
        prefix = f"contacts.{index}."
        employment = employments.plan(
            uow.session,
            caller,
            entry.employment or EmploymentFields(),
            company.id,
            region,
            f"{prefix}employment.",
        )
        record, contact_created = contacts.create(uow, caller, entry, [employment], region, prefix)
        added.append({**record, "created": contact_created})
    return {"company": {**company_record, "created": created}, "contacts": added}
