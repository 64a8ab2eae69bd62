"""Writing a batch of checked CSV rows, through the same bulk writes of ``changes`` as every
other write, so versions, search text and events are stamped in one place.

A row updates or creates a contact by e-mail (the personal one, or the
professional one for rows without it), else by name at the same company
(``matching``), reuses or creates companies by name
(ignoring case and accents) with an employment there, and adds interests.
An empty cell never clears a value. A batch is written with a handful of
queries: new records are inserted in bulk (``changes.NewRows``), the contacts
it updates are flushed once; should the database still refuse it (another
user created the same e-mail meanwhile), the batch is written again one row
per savepoint, so only the row concerned fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from crm.database import UnitOfWork
from crm.ids import new_id
from services.contacts import changes, lookups, search_text
from services.contacts import interests as interest_names
from services.contacts.csv import matching
from services.contacts.csv.memory import BatchOutcome, ImportContext, ImportMemory, KnownCompany
from services.contacts.csv.rows import ADDRESS_FIELDS, SOCIAL_FIELDS, RowPlan, RowProblem
from services.contacts.models import Company, Contact, ContactInterest, Employment, Interest

log = logging.getLogger(__name__)


def _position(values: dict[str, Any]) -> dict[str, Any]:
    """A row's latitude and longitude (both, or neither: the rows checked it), from an import."""
    if values["latitude"] is None:
        return {}
    return {"latitude": values["latitude"], "longitude": values["longitude"], "position_source": "import"}


@dataclass
class _ContactState:
    contact: Contact
    interests: set[str]
    history: list[tuple[Employment, Any]]


def write_batch(
    uow: UnitOfWork, context: ImportContext, memory: ImportMemory, plans: list[RowPlan]
) -> BatchOutcome:
    """Write checked rows; a row the database refuses is reported and written not at all."""
    session = uow.session
    writer = _BatchWriter(uow, context, memory, BatchOutcome())
    mark = uow.events_mark()
    try:
        with session.begin_nested():
            writer.write(plans)
        return writer.outcome
    except DBAPIError as exc:
        uow.drop_events_since(mark)  # their rows were rolled back with the savepoint
        log.info("import batch refused by the database, writing it row by row: %s", exc.orig)
    outcome = BatchOutcome()
    for plan in plans:
        writer = _BatchWriter(uow, context, memory, outcome)
        mark = uow.events_mark()
        try:
            with session.begin_nested():
                writer.write([plan])
        except DBAPIError as exc:
            uow.drop_events_since(mark)
            outcome.problems.append(RowProblem(plan.row, plan.line, None, None, None, _database_reason(exc)))
            continue
        outcome.merge(writer.outcome)
    return outcome


def _database_reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if "email" in text.lower() and ("unique" in text.lower() or "duplicate" in text.lower()):
        return "the e-mail address already belongs to another contact (added while the import ran)"
    return f"the database refused the row: {text[:300]}"


class _BatchWriter:
    """Writes rows of one batch; ``earlier`` holds what rows written before it in the batch created."""

    def __init__(self, uow: UnitOfWork, context: ImportContext, memory: ImportMemory, earlier: BatchOutcome):
        self.uow = uow
        self.session = uow.session
        self.context = context
        self.memory = memory
        self.earlier = earlier
        self.outcome = BatchOutcome()
        self.companies: dict[str, Any] = {}
        self.interest_ids: dict[str, str] = {}
        self.by_email: dict[str, _ContactState] = {}
        self.by_work_email: dict[str, _ContactState] = {}
        self.by_name: dict[matching.NameKey, _ContactState] = {}
        self.new_rows = changes.NewRows()  # what the batch creates, inserted in bulk at its end

    def write(self, plans: list[RowPlan]) -> None:
        self._load_contacts(plans)
        with self.session.no_autoflush:
            for plan in plans:
                self._write_row(plan)
        self.session.flush()  # the contacts and employments the batch updated
        self.new_rows.insert(self.session)

    # -- finding the contacts the rows update

    def _load_contacts(self, plans: list[RowPlan]) -> None:
        org_id = self.context.org_id
        emails = {plan.email for plan in plans if plan.email}
        work_emails = {plan.work_email for plan in plans if plan.work_email and not plan.email}
        found: dict[str, Contact] = {}
        if emails:
            for contact in self.session.scalars(
                select(Contact).where(
                    Contact.org_id == org_id, Contact.email.in_(emails), Contact.deleted_at.is_(None)
                )
            ):
                found[contact.id] = contact
        by_work_email: dict[str, str] = {}
        if work_emails:
            rows = self.session.execute(
                select(Employment.email, Contact)
                .join(Contact, Contact.id == Employment.contact_id)
                .where(
                    Employment.org_id == org_id,
                    Employment.email.in_(work_emails),
                    Employment.deleted_at.is_(None),
                    Contact.deleted_at.is_(None),
                )
                .order_by(Contact.created_at, Contact.id)
            )
            for work_email, contact in rows:
                found[contact.id] = contact
                by_work_email.setdefault(work_email, contact.id)
        named = matching.by_name_and_company(self.session, org_id, self.memory, plans, self.context.today)
        found.update((contact.id, contact) for contact in named.values())
        if not found:
            return
        interests = lookups.interest_ids(self.session, found)
        history = lookups.employment_pairs(self.session, found)
        states = {
            contact_id: _ContactState(contact, set(interests[contact_id]), history[contact_id])
            for contact_id, contact in found.items()
        }
        for state in states.values():
            if state.contact.email:
                self.by_email[state.contact.email] = state
        for work_email, contact_id in by_work_email.items():
            self.by_work_email[work_email] = states[contact_id]
        self.by_name = {key: states[contact.id] for key, contact in named.items()}

    def _find(self, plan: RowPlan) -> _ContactState | None:
        found = self.by_email.get(plan.email) if plan.email else None
        if found is None and plan.work_email and not plan.email:
            found = self.by_work_email.get(plan.work_email)
        named = self.by_name.get(key) if found is None and (key := matching.name_key(plan)) else None
        # A namesake with another e-mail is another person.
        return found or (named if named and not (plan.email and named.contact.email) else None)

    def _planned_earlier(self, plan: RowPlan) -> bool:
        """In a dry run, whether an earlier batch would have created this row's contact."""
        if plan.email:
            return plan.email in self.memory.planned_emails
        return bool(plan.work_email) and plan.work_email in self.memory.planned_work_emails

    # -- one row

    def _write_row(self, plan: RowPlan) -> None:
        values = plan.values
        state = self._find(plan)
        # In a dry run, a contact an earlier batch would have created is updated, not created.
        virtual = state is None and self.context.dry_run and self._planned_earlier(plan)
        if state is None and not virtual and not (values["first_name"] or values["last_name"]):
            self._refuse_nameless(plan)
            return
        created = state is None
        if state is None:
            state = self._new_contact(plan)
            changed = True
        else:
            changed = self._update_contact(state, plan)
        if values["company"]:
            changed |= self._employ(state, plan)
        changed |= self._add_interests(state, values["interests"])
        if created and not virtual:
            self._announce(state, "contact_created")
            self.outcome.created += 1
            self._remember_new(plan)
        elif created or changed:
            self._announce(state, "contact_updated")
            self.outcome.updated += 1
        else:
            self.outcome.unchanged += 1

    def _refuse_nameless(self, plan: RowPlan) -> None:
        field_name = "last_name" if "last_name" in self.context.header_of else "first_name"
        reason = (
            "no contact has this e-mail address, and a new contact needs a first name or a last name"
            if plan.email or plan.work_email
            else "a contact needs a first name or a last name"
        )
        self.outcome.problems.append(
            RowProblem(plan.row, plan.line, self.context.header_of.get(field_name), field_name, None, reason)
        )

    def _remember_new(self, plan: RowPlan) -> None:
        if plan.email:
            self.outcome.new_emails.add(plan.email)
        elif plan.work_email:
            self.outcome.new_work_emails.add(plan.work_email)

    def _new_contact(self, plan: RowPlan) -> _ContactState:
        values = plan.values
        contact = self.new_rows.new(
            Contact,
            self.context.now,
            id=new_id(),
            org_id=self.context.org_id,
            first_name=values["first_name"],
            last_name=values["last_name"],
            phone=values["phone"],
            phone_e164=plan.e164["phone"],
            mobile=values["mobile"],
            mobile_e164=plan.e164["mobile"],
            email=values["email"],
            address_street=values["street"],
            address_postal_code=values["postal_code"],
            address_city=values["city"],
            address_country=values["country"],
            note=values["note"],
            birthday=values["birthday"],
            website=values["website"],
            social={name: values[name] for name in SOCIAL_FIELDS if values[name]},
            **_position(values),
            search_text="",
        )
        state = _ContactState(contact, set(), [])
        self._index(state, plan)
        return state

    def _index(self, state: _ContactState, plan: RowPlan) -> None:
        if (key := matching.name_key(plan)) is not None:
            self.by_name.setdefault(key, state)
        if plan.email:
            self.by_email[plan.email] = state
        elif plan.work_email:
            self.by_work_email.setdefault(plan.work_email, state)

    def _update_contact(self, state: _ContactState, plan: RowPlan) -> bool:
        contact, values = state.contact, plan.values
        changed = False
        moved_from = (contact.latitude, contact.longitude)
        given = {
            "first_name": values["first_name"],
            "last_name": values["last_name"],
            "note": values["note"],
            "email": values["email"],  # found by name without one, it gets the row's
            "birthday": values["birthday"],
            "website": values["website"],
            **{f"address_{name}": values[name] for name in ADDRESS_FIELDS},
            # A position read back as it is keeps its source (an export's file re-imported).
            **(_position(values) if (values["latitude"], values["longitude"]) != moved_from else {}),
        }
        for name in ("phone", "mobile"):
            if values[name] is not None:
                given[name] = values[name]
                given[f"{name}_e164"] = plan.e164[name]
        for name, value in given.items():
            if value is not None and getattr(contact, name) != value:
                setattr(contact, name, value)
                changed = True
        social = {name: values[name] for name in SOCIAL_FIELDS if values[name]}
        if social and any((contact.social or {}).get(name) != value for name, value in social.items()):
            contact.social = {**(contact.social or {}), **social}
            changed = True
        return changed

    def _employ(self, state: _ContactState, plan: RowPlan) -> bool:
        values = plan.values
        company = self._company(values["company"], values["group"])
        details = {
            "function": values["function"],
            "phone": values["work_phone"],
            "phone_e164": plan.e164["work_phone"],
            "mobile": values["work_mobile"],
            "mobile_e164": plan.e164["work_mobile"],
            "email": values["work_email"],
        }
        current = next(
            (
                employment
                for employment, at in state.history
                if at.id == company.id and lookups.is_current(employment, self.context.today)
            ),
            None,
        )
        if current is None:
            employment = self.new_rows.new(
                Employment,
                self.context.now,
                id=new_id(),
                org_id=self.context.org_id,
                contact_id=state.contact.id,
                company_id=company.id,
                start_date=None,
                end_date=None,
                **details,
            )
            state.history.append((employment, company))
            return True
        changed = False
        for name, value in details.items():
            if value is not None and getattr(current, name) != value:
                setattr(current, name, value)
                changed = True
        if changed:
            changes.touch(current, self.context.now)
        return changed

    def _company(self, name: str, group: str | None) -> Any:
        key = search_text.fold(name)
        if key in self.companies:
            return self.companies[key]
        known = self.earlier.new_companies.get(key) or self.memory.companies.get(key)
        if known is not None and not known.virtual:
            self.companies[key] = known
            return known
        company = self.new_rows.new(
            Company,
            self.context.now,
            id=known.id if known else new_id(),
            org_id=self.context.org_id,
            name=name,
            group_name=group,
            social={},
            tags=[],
        )
        self.companies[key] = company
        if known is None:
            self.outcome.new_companies[key] = KnownCompany(company.id, name, group)
            changes.announce_company(
                self.uow, company, self.context.actor_id, "company_created", self.context.now
            )
        else:  # a dry run's earlier batch made it: made again, not announced again
            changes.refresh_company_search(company)
        return company

    def _add_interests(self, state: _ContactState, names: list[str]) -> bool:
        changed = False
        for name in names:
            interest_id = self._interest_id(name)
            if interest_id not in state.interests:
                state.interests.add(interest_id)
                self.new_rows.add(
                    ContactInterest,
                    contact_id=state.contact.id,
                    interest_id=interest_id,
                    org_id=self.context.org_id,
                )
                changed = True
        return changed

    def _interest_id(self, name: str) -> str:
        key = interest_names.name_key(name)
        if key in self.interest_ids:
            return self.interest_ids[key]
        if key in self.earlier.new_interests:
            known: tuple[str, bool] | None = (self.earlier.new_interests[key], False)
        else:
            known = self.memory.interests.get(key)
        if known is not None and not known[1]:
            self.interest_ids[key] = known[0]
            return known[0]
        interest_id = known[0] if known else new_id()
        self.new_rows.add(
            Interest,
            id=interest_id,
            org_id=self.context.org_id,
            name=name,
            name_key=key,
            created_at=self.context.now,
            deleted_at=None,
        )
        self.interest_ids[key] = interest_id
        if known is None:
            self.outcome.new_interests[key] = interest_id
        return interest_id

    # -- announcing

    def _announce(self, state: _ContactState, event_type: str) -> None:
        changes.announce_contact(
            self.uow,
            state.contact,
            state.interests,
            state.history,
            self.context.actor_id,
            event_type,
            now=self.context.now,
            today=self.context.today,
        )
