"""Recording a change: stamp the version, refresh the search text, announce the record.

Every write that affects a company or a contact goes through here, so the
version, the search text and the outbox never miss one. The API writes one
record at a time (``company_changed``, ``contact_changed``: they read what the
record needs from the session); the imports write many at once through the
bulk variants (``NewRows``, ``announce_company``, ``announce_contact``: the
caller hands over what it already holds). Both stamp and describe a record
with the same functions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import manager_of_class, set_committed_value

from crm.database import UnitOfWork
from crm.outbox import change_with_events, insert_with_events
from crm.times import utcnow
from services.contacts import lookups, search_text, shapes
from services.contacts.models import Company, Contact, ContactInterest, Employment, Interest

Record = TypeVar("Record")
# (employment, company) pairs: a contact's employments that are not deleted.
History = Iterable[tuple[Employment, Company]]


def new_record(model: type[Record], now: datetime, **values: Any) -> Record:
    """A record made ``now``, at version 1."""
    return model(version=1, created_at=now, updated_at=now, **values)


def touch(record: Any, now: datetime | None = None) -> None:
    """A changed record moves to its next version."""
    record.version += 1
    record.updated_at = now or utcnow()


def _stamp(record: Any, event_type: str, now: datetime | None) -> None:
    if not event_type.endswith("_created"):
        touch(record, now)


# -- search text ----------------------------------------------------------------------


def contact_search_text(contact: Contact, history: History, today: date) -> str:
    """The contact's search text: its own fields and its current employments, by company name."""
    current = sorted(
        (
            (employment, company)
            for employment, company in history
            if lookups.is_current(employment, today) and company.deleted_at is None
        ),
        key=lambda pair: (pair[1].name, pair[0].id),
    )
    return search_text.contact_text(contact, current)


def refresh_contact_search(session: Session, contact: Contact) -> None:
    history = lookups.employment_pairs(session, [contact.id])[contact.id]
    contact.search_text = contact_search_text(contact, history, lookups.today())


def refresh_company_search(company: Company) -> None:
    company.search_text = search_text.company_text(company)


# -- announcing -----------------------------------------------------------------------


def announce_company(
    uow: UnitOfWork, company: Company, actor_id: str, event_type: str, now: datetime | None = None
) -> dict[str, Any]:
    """Stamp ``company`` and announce it as it now is; returns its record."""
    _stamp(company, event_type, now)
    refresh_company_search(company)
    record = shapes.company_out(company)
    uow.emit(event_type, org_id=company.org_id, actor_id=actor_id, record=record)
    return record


def announce_contact(
    uow: UnitOfWork,
    contact: Contact,
    interest_ids: Collection[str],
    history: History,
    actor_id: str,
    event_type: str,
    *,
    now: datetime | None = None,
    today: date | None = None,
    stamped: bool = False,
) -> dict[str, Any]:
    """Stamp ``contact`` (unless already ``stamped``), refresh its search text and announce it
    with its interests and its employments (``history``); returns its record."""
    history = list(history)
    if not stamped:
        _stamp(contact, event_type, now)
    contact.search_text = contact_search_text(contact, history, today or lookups.today())
    record = shapes.contact_record(contact, list(interest_ids), history)
    uow.emit(event_type, org_id=contact.org_id, actor_id=actor_id, record=record)
    return record


def company_changed(uow: UnitOfWork, company: Company, actor_id: str, event_type: str) -> dict[str, Any]:
    """Announce ``company`` as it now is (``company_created``, ``_updated``, ``_deleted``)."""
    uow.session.flush()
    return announce_company(uow, company, actor_id, event_type)


def contact_changed(uow: UnitOfWork, contact: Contact, actor_id: str, event_type: str) -> dict[str, Any]:
    """Announce ``contact`` with its interests and employments (``contact_created``, ...)."""
    session = uow.session
    _stamp(contact, event_type, None)
    # What else the write changed (an employment, the interests) is written before the reads
    # that must see it; the contact's own change is written last with its version, its search
    # text and the events so far: one statement on PostgreSQL, not the ORM's flush.
    if any(record is not contact for record in (*session.new, *session.dirty, *session.deleted)):
        session.flush()
    with session.no_autoflush:
        history = lookups.employment_pairs(session, [contact.id])[contact.id]
        interest_ids = lookups.interest_ids(session, [contact.id])[contact.id]
    record = announce_contact(uow, contact, interest_ids, history, actor_id, event_type, stamped=True)
    _write_changed(uow, contact)
    return record


def _write_changed(uow: UnitOfWork, record: Any) -> None:
    """UPDATE the columns of ``record`` changed since it was read or flushed, with the outbox rows
    of the events queued so far; the session then holds the record as written."""
    state = inspect(record)
    mapper = state.mapper
    values = {key: state.dict[key] for key in state.committed_state}
    table = mapper.local_table
    change = (
        table.update()
        .where(table.c.id == record.id)
        .values({mapper.get_property(key).columns[0]: value for key, value in values.items()})
    )
    change_with_events(uow.session, change, uow.take_events())
    for key, value in values.items():
        set_committed_value(record, key, value)


# -- writing many new records at once -------------------------------------------------


class NewRows:
    """New records of a batch, inserted at its end with one statement per table.

    The records are instances of the models, readable like any other, but made
    without the session's bookkeeping (every column set, None unless given),
    which would cost more than the import's whole write.
    """

    ORDER = (Company, Interest, Contact, Employment, ContactInterest)  # parents first

    def __init__(self) -> None:
        self.rows: dict[type, list[Any]] = {model: [] for model in self.ORDER}

    def new(self, model: type[Record], now: datetime, **values: Any) -> Record:
        """A record made ``now``, at version 1, inserted with the batch (``new_record``'s twin)."""
        return self.add(model, version=1, created_at=now, updated_at=now, **values)

    def add(self, model: type[Record], **values: Any) -> Record:
        """A row inserted with the batch as given (interests and their links: no version)."""
        record = manager_of_class(model).new_instance()
        record.__dict__.update(_BLANK[model])
        record.__dict__.update(values)
        self.rows[model].append(record)
        return record

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        """The rows by table, parents first, as ``crm.outbox.insert_with_events`` takes them."""
        return [
            (model.__table__, [{key: row.__dict__[key] for key in _BLANK[model]} for row in records])
            for model, records in self.rows.items()
        ]

    def insert(self, session: Session, events: list[dict[str, Any]] | None = None) -> None:
        """Insert the rows, parents first, with the outbox rows of ``events`` (a single create and
        its event: one statement on PostgreSQL; ``crm.outbox.insert_with_events``)."""
        insert_with_events(session, self.tables(), events or [])


_BLANK = {
    model: dict.fromkeys(attribute.key for attribute in inspect(model).column_attrs)
    for model in NewRows.ORDER
}
