"""Writing a batch of checked CSV rows, and what a job remembers between batches.

Writing a batch updates or creates contacts by e-mail (the personal one, or
the professional one for rows without it), reuses or creates companies by name
(ignoring case and accents) with an employment there, and adds interests.
An empty cell never clears a value. A batch is written with a handful of
queries: new records are plain rows inserted in bulk (no ORM objects), the
contacts it updates are flushed once; should the database still refuse it
(another user created the same e-mail meanwhile), the batch is written again
one row per savepoint, so only the row concerned fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm.database import UnitOfWork
from crm.ids import new_id
from crm.outbox import new_event
from crm.times import aware
from services.contacts import interests as interest_names
from services.contacts import lookups, search_text, shapes
from services.contacts.csv.rows import ADDRESS_FIELDS, SOCIAL_FIELDS, RowPlan, RowProblem
from services.contacts.models import Company, Contact, ContactInterest, Employment, Interest

log = logging.getLogger(__name__)


# -- what a job remembers between batches -------------------------------------------


@dataclass(frozen=True)
class KnownCompany:
    """A company rows may be employed at. ``virtual``: only a dry run's earlier batch made it."""

    id: str
    name: str
    group_name: str | None
    virtual: bool = False
    deleted_at: datetime | None = None


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    new_companies: dict[str, KnownCompany] = field(default_factory=dict)
    new_interests: dict[str, str] = field(default_factory=dict)
    new_emails: set[str] = field(default_factory=set)
    new_work_emails: set[str] = field(default_factory=set)

    def merge(self, other: BatchOutcome) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.problems += other.problems
        self.new_companies.update(other.new_companies)
        self.new_interests.update(other.new_interests)
        self.new_emails |= other.new_emails
        self.new_work_emails |= other.new_work_emails


@dataclass
class ImportMemory:
    """The organisation's companies (by folded name) and interests (by name key), kept up to date
    as batches commit; in a dry run, also what earlier batches would have created."""

    companies: dict[str, KnownCompany]
    interests: dict[str, tuple[str, bool]]
    planned_emails: set[str] = field(default_factory=set)
    planned_work_emails: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, org_id: str) -> ImportMemory:
        companies: dict[str, KnownCompany] = {}
        rows = session.execute(
            select(Company.id, Company.name, Company.group_name)
            .where(Company.org_id == org_id, Company.deleted_at.is_(None))
            .order_by(Company.created_at, Company.id)
        )
        for company_id, name, group_name in rows:
            companies.setdefault(search_text.fold(name), KnownCompany(company_id, name, group_name))
        found = session.execute(
            select(Interest.id, Interest.name_key).where(
                Interest.org_id == org_id, Interest.deleted_at.is_(None)
            )
        )
        return cls(companies, {key: (interest_id, False) for interest_id, key in found})

    def absorb(self, outcome: BatchOutcome, dry_run: bool) -> None:
        """Remember what a batch created (in a dry run: would have created)."""
        for key, company in outcome.new_companies.items():
            self.companies[key] = KnownCompany(company.id, company.name, company.group_name, virtual=dry_run)
        for key, interest_id in outcome.new_interests.items():
            self.interests[key] = (interest_id, dry_run)
        if dry_run:
            self.planned_emails |= outcome.new_emails
            self.planned_work_emails |= outcome.new_work_emails


@dataclass(frozen=True)
class ImportContext:
    org_id: str
    actor_id: str
    region: str
    dry_run: bool
    header_of: dict[str, str]
    now: datetime
    today: date


# -- writing ------------------------------------------------------------------------


def _attribute_names(model: Any) -> tuple[str, ...]:
    return tuple(attribute.key for attribute in inspect(model).column_attrs)


_NEW_ROW_KEYS = {model: _attribute_names(model) for model in (Company, Contact, Employment)}


def _new_row(model: Any, **values: Any) -> SimpleNamespace:
    """A record to insert in bulk: every attribute of ``model`` (None unless given), readable
    like the ORM object by ``records`` and ``search_text``."""
    row = dict.fromkeys(_NEW_ROW_KEYS[model])
    row.update(values)
    return SimpleNamespace(**row)


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
        # What the batch creates, inserted in bulk at its end: parents first, then children.
        self.new_rows: dict[Any, list[Any]] = {
            model: [] for model in (Company, Interest, Contact, Employment, ContactInterest)
        }
        self.events: list[dict[str, Any]] = []

    def write(self, plans: list[RowPlan]) -> None:
        self._load_contacts(plans)
        with self.session.no_autoflush:
            for plan in plans:
                self._write_row(plan)
        self.session.flush()  # the contacts and employments the batch updated
        for model, rows in self.new_rows.items():
            if rows:
                self.session.execute(
                    insert(model), [row if isinstance(row, dict) else vars(row) for row in rows]
                )
        self.uow.emit_all(self.events)

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
        if not found:
            return
        interests = lookups.interest_ids(self.session, found)
        history: dict[str, list[tuple[Employment, Any]]] = {contact_id: [] for contact_id in found}
        for employment, company in self.session.execute(
            select(Employment, Company)
            .join(Company, Company.id == Employment.company_id)
            .where(Employment.contact_id.in_(found), Employment.deleted_at.is_(None))
        ):
            history[employment.contact_id].append((employment, company))
        states = {
            contact_id: _ContactState(contact, set(interests[contact_id]), history[contact_id])
            for contact_id, contact in found.items()
        }
        for state in states.values():
            if state.contact.email:
                self.by_email[state.contact.email] = state
        for work_email, contact_id in by_work_email.items():
            self.by_work_email[work_email] = states[contact_id]

    def _find(self, plan: RowPlan) -> _ContactState | None:
        if plan.email:
            return self.by_email.get(plan.email)
        if plan.work_email:
            return self.by_work_email.get(plan.work_email)
        return None

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
            if not created:
                state.contact.version += 1
                state.contact.updated_at = self.context.now
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
        values, now = plan.values, self.context.now
        contact = _new_row(
            Contact,
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
            social={name: values[name] for name in SOCIAL_FIELDS if values[name]},
            search_text="",
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.new_rows[Contact].append(contact)
        state = _ContactState(contact, set(), [])
        self._index(state, plan)
        return state

    def _index(self, state: _ContactState, plan: RowPlan) -> None:
        if plan.email:
            self.by_email[plan.email] = state
        elif plan.work_email:
            self.by_work_email.setdefault(plan.work_email, state)

    def _update_contact(self, state: _ContactState, plan: RowPlan) -> bool:
        contact, values = state.contact, plan.values
        changed = False
        given = {
            "first_name": values["first_name"],
            "last_name": values["last_name"],
            "note": values["note"],
            **{f"address_{name}": values[name] for name in ADDRESS_FIELDS},
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
            employment = _new_row(
                Employment,
                id=new_id(),
                org_id=self.context.org_id,
                contact_id=state.contact.id,
                company_id=company.id,
                start_date=None,
                end_date=None,
                version=1,
                created_at=self.context.now,
                updated_at=self.context.now,
                **details,
            )
            self.new_rows[Employment].append(employment)
            state.history.append((employment, company))
            return True
        changed = False
        for name, value in details.items():
            if value is not None and getattr(current, name) != value:
                setattr(current, name, value)
                changed = True
        if changed:
            current.version += 1
            current.updated_at = self.context.now
        return changed

    def _company(self, name: str, group: str | None) -> Any:
        key = search_text.fold(name)
        if key in self.companies:
            return self.companies[key]
        known = self.earlier.new_companies.get(key) or self.memory.companies.get(key)
        if known is not None and not known.virtual:
            self.companies[key] = known
            return known
        now = self.context.now
        company = _new_row(
            Company,
            id=known.id if known else new_id(),
            org_id=self.context.org_id,
            name=name,
            group_name=group,
            social={},
            tags=[],
            version=1,
            created_at=now,
            updated_at=now,
        )
        company.search_text = search_text.company_text(company)
        self.new_rows[Company].append(company)
        self.companies[key] = company
        if known is None:
            self.outcome.new_companies[key] = KnownCompany(company.id, name, group)
            self.events.append(
                new_event(
                    "company_created",
                    org_id=company.org_id,
                    actor_id=self.context.actor_id,
                    record=shapes.company_out(company),
                )
            )
        return company

    def _add_interests(self, state: _ContactState, names: list[str]) -> bool:
        changed = False
        for name in names:
            interest_id = self._interest_id(name)
            if interest_id not in state.interests:
                state.interests.add(interest_id)
                self.new_rows[ContactInterest].append(
                    {
                        "contact_id": state.contact.id,
                        "interest_id": interest_id,
                        "org_id": self.context.org_id,
                    }
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
        self.new_rows[Interest].append(
            {
                "id": interest_id,
                "org_id": self.context.org_id,
                "name": name,
                "name_key": key,
                "created_at": self.context.now,
                "deleted_at": None,
            }
        )
        self.interest_ids[key] = interest_id
        if known is None:
            self.outcome.new_interests[key] = interest_id
        return interest_id

    # -- announcing

    def _announce(self, state: _ContactState, event_type: str) -> None:
        contact = state.contact
        current = sorted(
            (
                (employment, company)
                for employment, company in state.history
                if lookups.is_current(employment, self.context.today) and company.deleted_at is None
            ),
            key=lambda pair: (pair[1].name, pair[0].id),
        )
        contact.search_text = search_text.contact_text(contact, current)
        history = sorted(
            state.history,
            key=lambda pair: (pair[0].start_date or date.min, aware(pair[0].created_at)),
            reverse=True,
        )
        record = {
            **shapes.contact_out(contact, list(state.interests)),
            "employments": [shapes.employment_out(employment, company) for employment, company in history],
        }
        self.events.append(
            new_event(event_type, org_id=contact.org_id, actor_id=self.context.actor_id, record=record)
        )
