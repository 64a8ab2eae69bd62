"""What one run of the Google sync holds while it works: the clients of both sides, the user's
links, and the batch not yet written (links, log lines, counts), written with the run's
progress in one transaction at each batch's end (``flush``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess
from crm.times import utcnow
from providers.google_contacts import PeopleClient
from services.sync.google import runs
from services.sync.google.crm_side import ContactsWriter, CrmContacts
from services.sync.google.mapping import SharedView
from services.sync.google.models import GoogleConnection, GoogleLink, GoogleRunLog


@dataclass
class Link:
    contact_id: str
    resource_name: str
    etag: str
    agreed: SharedView


@dataclass
class Links:
    by_contact: dict[str, Link] = field(default_factory=dict)
    by_resource: dict[str, Link] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, user_id: str) -> Links:
        links = cls()
        for row in session.scalars(select(GoogleLink).where(GoogleLink.user_id == user_id)):
            links.put(Link(row.contact_id, row.resource_name, row.etag, SharedView.from_json(row.agreed)))
        return links

    def put(self, link: Link) -> None:
        self.drop(link.contact_id)
        if link.resource_name in self.by_resource:
            self.drop(self.by_resource[link.resource_name].contact_id)
        self.by_contact[link.contact_id] = link
        self.by_resource[link.resource_name] = link

    def drop(self, contact_id: str) -> Link | None:
        link = self.by_contact.pop(contact_id, None)
        if link is not None:
            self.by_resource.pop(link.resource_name, None)
        return link


@dataclass
class JobState:
    db: DatabaseAccess
    run_id: str
    runner_id: str
    org_id: str
    user_id: str
    group: str
    people: PeopleClient
    writer: ContactsWriter
    contacts: CrmContacts
    links: Links
    counts: Counter = field(default_factory=Counter)
    # Contacts the CRM-to-Google direction looks at whatever their sequence (a first link whose CRM
    # side has what Google lacks, a conflict the CRM won).
    also_push: set[str] = field(default_factory=set)
    crm_upto: int = 0
    _log: list[tuple[str | None, str | None, str, str, str]] = field(default_factory=list)
    _changed: dict[str, Link | None] = field(default_factory=dict)

    def link(self, link: Link) -> None:
        old = self.links.by_resource.get(link.resource_name)
        if old is not None and old.contact_id != link.contact_id:
            self._changed[old.contact_id] = None
        self.links.put(link)
        self._changed[link.contact_id] = link

    def unlink(self, contact_id: str) -> None:
        self.links.drop(contact_id)
        self._changed[contact_id] = None

    def log(
        self, contact_id: str | None, resource_name: str | None, direction: str, action: str, detail: str
    ) -> None:
        self._log.append((contact_id, resource_name, direction, action, detail))
        counter = {
            ("to_crm", "created"): "created_in_crm",
            ("to_crm", "updated"): "updated_in_crm",
            ("to_google", "created"): "created_in_google",
            ("to_google", "updated"): "updated_in_google",
        }.get((direction, action)) or {"linked": "linked", "conflict": "conflicts", "skipped": "skipped"}.get(
            action
        )
        if counter:
            self.counts[counter] += 1

    def flush(self, connection: dict[str, Any] | None = None, **progress: Any) -> None:
        """Write the batch: links, log lines, counts, ``progress`` (columns of the run) and
        ``connection`` (columns of the connection), if this runner still holds the run."""
        with self.db.transaction() as uow:
            session = uow.session
            run = runs.leased(session, self.run_id, self.runner_id)
            if self._changed:
                now = utcnow()
                kept = [link for link in self._changed.values() if link is not None]
                for contact_ids in _slices(list(self._changed)):
                    session.execute(
                        delete(GoogleLink)
                        .where(GoogleLink.user_id == self.user_id, GoogleLink.contact_id.in_(contact_ids))
                        .execution_options(synchronize_session=False)
                    )
                for resource_names in _slices([link.resource_name for link in kept]):
                    session.execute(
                        delete(GoogleLink)
                        .where(
                            GoogleLink.user_id == self.user_id, GoogleLink.resource_name.in_(resource_names)
                        )
                        .execution_options(synchronize_session=False)
                    )
                if kept:
                    session.execute(
                        insert(GoogleLink),
                        [
                            {
                                "user_id": self.user_id,
                                "contact_id": link.contact_id,
                                "org_id": self.org_id,
                                "resource_name": link.resource_name,
                                "etag": link.etag,
                                "agreed": link.agreed.to_json(),
                                "synced_at": now,
                            }
                            for link in kept
                        ],
                    )
            if self._log:
                now = utcnow()
                session.execute(
                    insert(GoogleRunLog),
                    [
                        {
                            "run_id": self.run_id,
                            "org_id": self.org_id,
                            "contact_id": contact_id,
                            "resource_name": resource_name,
                            "direction": direction,
                            "action": action,
                            "detail": detail[:2000],
                            "at": now,
                        }
                        for contact_id, resource_name, direction, action, detail in self._log
                    ],
                )
            for name, added in self.counts.items():
                setattr(run, name, getattr(run, name) + added)
            for name, value in progress.items():
                setattr(run, name, value)
            if connection:
                session.execute(
                    update(GoogleConnection)
                    .where(GoogleConnection.user_id == self.user_id)
                    .values(updated_at=utcnow(), **connection)
                )
        self._changed, self._log, self.counts = {}, [], Counter()


def _slices(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
