"""Importing a .vcf file: each card creates or updates one contact, in a transaction of its own.

A card updates the contact whose id is its UID, else the contact holding its
e-mail address, else (a card with only work e-mails) the one contact employed
with such an address; otherwise it creates a contact. What the card does not
say stays as it is. Each ORG is a company of the organisation found by name,
whatever its case and accents (as the CSV import finds them), or created; the
contact is employed there with the card's TITLE and work phones and e-mail, or
the employment they have there is brought up to date (an export lists past
employments too, and importing it back must not make them current again).

A bad card is rolled back alone and reported by its number with the property
at fault; the others go on. A dry run checks each card against the database as
it is and rolls it back, so a file naming the same new e-mail twice counts the
second card as an update.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from time import monotonic
from typing import Any

import eventlet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork
from crm.errors import CrmError, invalid
from crm.settings import ContactsSettings
from crm.times import aware
from crm.validation import validate
from services.contacts import (
    changes,
    companies,
    contacts,
    employments,
    interests,
    lookups,
    phones,
    search_text,
)
from services.contacts.models import Company, Contact, Employment
from services.contacts.schemas import CompanyCreate, ContactUpdate, InterestCreate
from services.contacts.vcard import limits as vcard_limits
from services.contacts.vcard import reader as vcard_reader
from services.contacts.vcard.limits import VCardLimits
from services.contacts.vcard.schemas import CardContact, CardJob, VCardImport

log = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
NOT_IN_TIME = "not imported: the import stopped before this card to answer in time; import the rest again"
_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
# The columns a job's field sets on an employment.
_EMPLOYMENT_COLUMNS = {
    "function": ("function",),
    "phone": ("phone", "phone_e164"),
    "mobile": ("mobile", "mobile_e164"),
    "email": ("email",),
}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    not_kept: list[dict[str, Any]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def fail(self, number: int, problems: list[tuple[str, str]]) -> None:
        self.failed += 1
        self.errors += [{"card": number, "field": name, "reason": reason} for name, reason in problems]

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": self.errors,
            "not_kept": self.not_kept,
        }


def import_vcards(
    db: DatabaseAccess, caller: Caller, request: VCardImport, settings: ContactsSettings, seconds: float
) -> dict[str, Any]:
    """Import the cards of the file; the whole file is refused only when too big (bytes, lines, a
    property's length, cards) or without cards, and then before any card is read.

    Cards still waiting after ``seconds`` are reported as not imported, so that the
    caller gets an answer before its deadline rather than none.
    """
    deadline = monotonic() + seconds
    size = len(request.content.encode())
    if size > settings.vcard_max_bytes:
        raise invalid("content", f"is {size} bytes; at most {settings.vcard_max_bytes} are imported at once")
    limits = VCardLimits(settings.vcard_max_lines, settings.vcard_max_property_chars)
    vcard_limits.check_shape(request.content, limits)
    pieces = vcard_reader.split_cards(request.content)
    if not pieces:
        raise invalid("content", "holds no vCard (BEGIN:VCARD ... END:VCARD)")
    if len(pieces) > settings.vcard_max_cards:
        raise invalid("content", f"holds {len(pieces)} cards; at most {settings.vcard_max_cards} at once")
    report = ImportReport()
    new_emails: set[str] = set()  # dry run: e-mails of contacts that earlier cards would create
    for piece in pieces:
        eventlet.sleep(0)  # parsing is CPU work: let the process's other calls in between cards
        if monotonic() > deadline:
            report.fail(piece.number, [("card", NOT_IN_TIME)])
            continue
        try:
            card = vcard_reader.read_card(piece)
        except CrmError as exc:  # already named after the property at fault
            report.fail(piece.number, _problems(exc, lambda name: name))
            continue
        try:
            outcome = _import_alone(db, caller, card, settings.default_phone_region, request.dry_run)
        except CrmError as exc:
            report.fail(piece.number, _problems(exc, card.property_of))
            continue
        except IntegrityError:
            log.warning("card %s clashed with a concurrent change", piece.number, exc_info=True)
            report.fail(
                piece.number, [("card", "clashed with a change made at the same time; import it again")]
            )
            continue
        email = str(card.contact.get("email", "")).lower()
        if request.dry_run and outcome == CREATED and email in new_emails:
            outcome = UPDATED
        if email and outcome == CREATED:
            new_emails.add(email)
        report.count(outcome)
        report.not_kept += [{"card": piece.number, **left} for left in card.not_kept]
    return report.as_dict()


def _problems(exc: CrmError, property_of: Callable[[str], str]) -> list[tuple[str, str]]:
    """(property, reason) for each field the error names; the errors name our fields."""
    if not exc.errors:
        return [("card", exc.detail)]
    return [(property_of(error.get("field", "")), error.get("message", exc.detail)) for error in exc.errors]


def _import_alone(
    db: DatabaseAccess, caller: Caller, card: vcard_reader.Card, region: str, dry_run: bool
) -> str:
    if dry_run:
        with db.dry_run() as uow:  # rolled back on leaving: a dry run writes nothing
            return import_card(uow, caller, card, region)
    with db.transaction() as uow:
        return import_card(uow, caller, card, region)


def import_card(uow: UnitOfWork, caller: Caller, card: vcard_reader.Card, region: str) -> str:
    """Create or update the card's contact, its companies and employments; returns the outcome."""
    session = uow.session
    wanted = validate(CardContact, card.payload())
    contact = _matching_contact(uow, caller.org_id, card.uid, wanted)
    categories = _interests_named(uow, caller, card.categories)
    events_before = uow.events_recorded
    planned = []
    for index, job in enumerate(wanted.jobs):
        company = _company_named(uow, caller, job, region, f"jobs.{index}.")
        prefix = f"jobs.{index}.employment."
        planned.append(employments.plan(session, caller, job.employment, company.id, region, prefix))
    if contact is None:
        contacts.create(uow, caller, wanted.model_copy(update={"interests": categories}), planned, region)
        return CREATED
    given_by_job = [set(job["employment"]) for job in card.jobs]
    jobs_changed = False
    for plan, given in zip(planned, given_by_job, strict=True):
        jobs_changed |= _employ(uow, caller, contact, plan, given)
    given = set(card.contact)
    for name in ("phone", "mobile"):
        # The same number however typed ("+33 1 45 67 89 10", "01 45 67 89 10") is no change.
        if name in given and phones.normalise(getattr(wanted, name), region, name) == getattr(
            contact, f"{name}_e164"
        ):
            given.discard(name)
    held = lookups.interest_ids(session, [contact.id])[contact.id]
    if set(categories) - set(held):  # CATEGORIES add interests; they take none away
        wanted = wanted.model_copy(update={"interests": [*held, *categories]})
        given.add("interests")
    recorded = uow.events_recorded
    changed = validate(ContactUpdate, wanted.model_dump(mode="json", include=given))
    contacts.update(uow, caller, contact.id, changed, region)
    if jobs_changed and uow.events_recorded == recorded:
        changes.contact_changed(uow, contact, caller.user_id, "contact_updated")
    return UPDATED if uow.events_recorded > events_before else UNCHANGED


def _matching_contact(uow: UnitOfWork, org_id: str, uid: str | None, wanted: CardContact) -> Contact | None:
    session = uow.session
    if uid and _ID.match(uid):
        contact = session.get(Contact, uid)
        if contact is not None and contact.org_id == org_id and contact.deleted_at is None:
            return contact
    live = (Contact.org_id == org_id, Contact.deleted_at.is_(None))
    if wanted.email is not None:
        return session.scalars(select(Contact).where(*live, Contact.email == wanted.email)).first()
    work_emails = {job.employment.email for job in wanted.jobs if job.employment.email}
    if not work_emails:
        return None
    # Ids first: PostgreSQL cannot DISTINCT over the contacts' JSON columns.
    employed_ids = (
        select(Employment.contact_id)
        .where(Employment.email.in_(work_emails), Employment.deleted_at.is_(None))
        .distinct()
    )
    employed = session.scalars(select(Contact).where(*live, Contact.id.in_(employed_ids))).all()
    return employed[0] if len(employed) == 1 else None


def _interests_named(uow: UnitOfWork, caller: Caller, names: list[str]) -> list[str]:
    """The ids of the organisation's interests of these names, whatever their case; missing ones
    are created."""
    ids = []
    for name in names:
        request = validate(InterestCreate, {"name": name[:100]})
        held = interests.by_name(uow.session, caller.org_id, request.name)
        ids.append(held.id if held is not None else interests.create(uow, caller, request)[0]["id"])
    return list(dict.fromkeys(ids))


def _company_named(uow: UnitOfWork, caller: Caller, job: CardJob, region: str, prefix: str) -> Company:
    """The organisation's company of that name, whatever its case and accents (the oldest if
    several), or a new one."""
    wanted = search_text.fold(job.company)
    # The search text (folded name, group, e-mail, phones) narrows the candidates with its index.
    candidates = uow.session.scalars(
        select(Company)
        .where(
            Company.org_id == caller.org_id,
            Company.deleted_at.is_(None),
            Company.search_text.contains(wanted, autoescape=True),
        )
        .order_by(Company.created_at, Company.id)
    )
    for company in candidates:
        if search_text.fold(company.name) == wanted:
            return company
    request = CompanyCreate(name=job.company, address=job.address)
    company, _, _ = companies.create(uow, caller, request, region, prefix=prefix)
    return company


def _employ(
    uow: UnitOfWork, caller: Caller, contact: Contact, plan: employments.Planned, given: set[str]
) -> bool:
    """Employ the contact at the planned company, or bring the employment there up to date.

    Only what the card gives changes; dates stay. Returns whether anything changed.
    """
    held = uow.session.scalars(
        select(Employment).where(
            Employment.contact_id == contact.id,
            Employment.company_id == plan.company.id,
            Employment.deleted_at.is_(None),
        )
    ).all()
    if not held:
        employments.write(uow, caller, contact, plan)
        return True
    today = lookups.today()
    employment = max(
        held,
        key=lambda e: (lookups.is_current(e, today), e.start_date or date.min, aware(e.created_at)),
    )
    changed = False
    for name in given:
        if name in ("phone", "mobile") and plan.values[f"{name}_e164"] == getattr(employment, f"{name}_e164"):
            continue  # the same number however typed
        for column in _EMPLOYMENT_COLUMNS[name]:
            if getattr(employment, column) != plan.values[column]:
                setattr(employment, column, plan.values[column])
                changed = True
    if changed:
        changes.touch(employment)
    return changed
