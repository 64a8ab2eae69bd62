"""Contacts: create (with employments), change, read with their history; archive, restore, purge.

An e-mail address belongs to at most one contact of an organisation that is
not deleted: external contact sync finds contacts by it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import field_error, invalid
from crm.ids import new_id
from crm.records import check_version, has_values, record_of, replayed
from crm.times import utcnow
from services.contacts import changes, columns, employments, interests, lookups, phones, shapes
from services.contacts.exceptions import ContactNotFound, DuplicateContactEmail, NotArchived
from services.contacts.models import Contact, ContactInterest, Employment
from services.contacts.schemas import ContactCreate, ContactFields, ContactUpdate


def _check_names(first_name: str | None, last_name: str | None, prefix: str = "") -> None:
    if first_name is None and last_name is None:
        raise invalid(f"{prefix}last_name", "a contact needs a first name or a last name")


# ``ensure_email_free``'s holder when the caller has not looked it up yet.
UNCHECKED = object()


def ensure_email_free(
    session: Session,
    org_id: str,
    email: str | None,
    except_id: str | None,
    field: str,
    holder: Any = UNCHECKED,
) -> None:
    """Refuse an address another contact already has, naming that contact. ``holder``: the
    contact holding it as the caller already read it (``lookups.companies_and_email_holder``)."""
    if email is None:
        return
    if holder is UNCHECKED:
        holder = lookups.email_holder(session, org_id, email)
    if holder is not None and holder != except_id:
        raise DuplicateContactEmail(
            f"{field}: {email} already belongs to contact {holder}",
            [{**field_error(field, f"already belongs to contact {holder}"), "contact_id": holder}],
        )


def _values(fields: ContactFields, region: str, prefix: str) -> dict[str, Any]:
    return {
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "phone": fields.phone,
        "phone_e164": phones.normalise(fields.phone, region, f"{prefix}phone"),
        "mobile": fields.mobile,
        "mobile_e164": phones.normalise(fields.mobile, region, f"{prefix}mobile"),
        "email": fields.email,
        **columns.address_columns(fields.address),
        "note": fields.note,
        "birthday": fields.birthday,
        "website": fields.website,
        "social": columns.social_value(fields.social),
    }


def create(
    uow: UnitOfWork,
    caller: Caller,
    fields: ContactFields,
    planned: list[employments.Planned],
    region: str,
    prefix: str = "",
    *,
    email_holder: Any = UNCHECKED,
) -> tuple[dict[str, Any], bool]:
    """Create a contact with its planned employments; returns (the contact record, created?).

    The same id with the same fields and interests, whose planned employments
    it already has, returns the existing contact. ``email_holder``: who holds the
    contact's e-mail, when the caller read it with the companies (one statement for both).
    """
    session = uow.session
    values = _values(fields, region, prefix)
    interest_ids = interests.checked_ids(session, caller.org_id, fields.interests, f"{prefix}interests")

    def same_content(contact: Contact) -> bool:
        history = session.scalars(select(Employment).where(Employment.contact_id == contact.id)).all()
        return (
            has_values(contact, values)
            and set(lookups.interest_ids(session, [contact.id])[contact.id]) == set(interest_ids)
            and all(any(plan.matches(employment) for employment in history) for plan in planned)
        )

    existing = replayed(session, Contact, fields.id, caller.org_id, same_content, f"{prefix}id")
    if existing is not None:
        return shapes.contact_detail(session, existing), False
    _check_names(fields.first_name, fields.last_name, prefix)
    ensure_email_free(session, caller.org_id, fields.email, None, f"{prefix}email", email_holder)
    # Built as plain records and inserted without the ORM's unit of work (most of a create's cost),
    # with the events so far (one statement on PostgreSQL); announced (search text included) first.
    rows = changes.NewRows()
    contact = rows.new(Contact, utcnow(), id=fields.id or new_id(), org_id=caller.org_id, **values)
    for interest_id in sorted(set(interest_ids)):
        rows.add(ContactInterest, contact_id=contact.id, interest_id=interest_id, org_id=contact.org_id)
    history = [
        (employments.write(uow, caller, contact, plan, rows=rows)[0], plan.company) for plan in planned
    ]
    record = changes.announce_contact(uow, contact, interest_ids, history, caller.user_id, "contact_created")
    uow.insert(rows.tables())
    return record, True


def create_with_employments(
    uow: UnitOfWork, caller: Caller, request: ContactCreate, region: str
) -> tuple[dict[str, Any], bool]:
    """``create`` with the employments of ``request``: their companies and the contact's e-mail
    are checked with one statement."""
    session = uow.session
    company_ids = [employment.company_id for employment in request.employments]
    companies, email_holder = lookups.companies_and_email_holder(
        session, caller.org_id, company_ids, request.email
    )
    planned = [
        employments.plan(
            session,
            caller,
            employment,
            employment.company_id,
            region,
            f"employments.{i}.",
            found=companies,
        )
        for i, employment in enumerate(request.employments)
    ]
    return create(uow, caller, request, planned, region, email_holder=email_holder)


def update(
    uow: UnitOfWork, caller: Caller, contact_id: str, request: ContactUpdate, region: str
) -> dict[str, Any]:
    session = uow.session
    contact = lookups.contact_of(session, caller.org_id, contact_id, lock=True)
    check_version(contact, request.version, "contact")
    given = request.model_dump(exclude_unset=True, exclude={"version"})
    # Compared with what callers see, not with session state: a query here autoflushes.
    before = shapes.contact_out(contact, [])
    for name in ("first_name", "last_name", "note", "birthday", "website"):
        if name in given:
            setattr(contact, name, given[name])
    _check_names(contact.first_name, contact.last_name)
    for name in ("phone", "mobile"):
        if name in given:
            setattr(contact, name, given[name])
            setattr(contact, f"{name}_e164", phones.normalise(given[name], region, name))
    if "email" in given:
        ensure_email_free(session, caller.org_id, given["email"], contact.id, "email")
        contact.email = given["email"]
    if "address" in given:
        columns.apply_address(contact, given["address"])
    if "social" in given:
        contact.social = columns.merged_social(contact.social, given["social"])
    interests_changed = False
    if "interests" in given:
        wanted = interests.checked_ids(session, caller.org_id, given["interests"] or [], "interests")
        interests_changed = interests.set_for_contact(session, contact, wanted)
    if shapes.contact_out(contact, []) == before and not interests_changed:
        return shapes.contact_detail(session, contact)
    return changes.contact_changed(uow, contact, caller.user_id, "contact_updated")


def get(session: Session, caller: Caller, contact_id: str) -> dict[str, Any]:
    return shapes.contact_detail(session, lookups.contact_of(session, caller.org_id, contact_id))


def _archived_or_live(session: Session, caller: Caller, contact_id: str) -> Contact:
    return record_of(
        session, Contact, caller.org_id, contact_id, ContactNotFound, "contact", lock=True, with_deleted=True
    )


def delete(uow: UnitOfWork, caller: Caller, contact_id: str) -> None:
    """Archive: the contact leaves lists and searches, its employments and interests stay, its
    e-mail address is free again. A replayed delete changes nothing."""
    contact = _archived_or_live(uow.session, caller, contact_id)
    if contact.deleted_at is not None:
        return
    contact.deleted_at = utcnow()
    changes.contact_changed(uow, contact, caller.user_id, "contact_deleted")


def restore(uow: UnitOfWork, caller: Caller, contact_id: str) -> dict[str, Any]:
    """Bring an archived contact back with its employments and interests (``contact_updated``).

    A live contact is ``NotArchived``; an e-mail address another contact took meanwhile is
    ``DuplicateContactEmail`` naming that contact (change it on the other, then restore).
    """
    session = uow.session
    contact = _archived_or_live(session, caller, contact_id)
    if contact.deleted_at is None:
        raise NotArchived(f"contact {contact_id} is not archived: only an archived contact is restored")
    ensure_email_free(session, caller.org_id, contact.email, contact.id, "email")
    contact.deleted_at = None
    return changes.contact_changed(uow, contact, caller.user_id, "contact_updated")


def purge(uow: UnitOfWork, caller: Caller, contact_id: str) -> None:
    """Delete an archived contact for good, with its employments and interests
    (``contact_purged``). A live contact is ``NotArchived``: archive it first."""
    session = uow.session
    contact = _archived_or_live(session, caller, contact_id)
    if contact.deleted_at is None:
        raise NotArchived(f"contact {contact_id} is not archived: archive it (DELETE) before purging it")
    session.execute(sql_delete(ContactInterest).where(ContactInterest.contact_id == contact.id))
    session.execute(sql_delete(Employment).where(Employment.contact_id == contact.id))
    session.delete(contact)
    session.flush()
    uow.emit("contact_purged", org_id=caller.org_id, actor_id=caller.user_id, record={"id": contact_id})
