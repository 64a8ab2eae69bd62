"""The contacts service's lookups for other services: which contacts and companies of a record
are live, their names and positions, and the contact a received mail's sender is.

A mixin of ``ContactsService``: it uses that class's ``db`` and ``caller``.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from services.contacts import companies, references


class ReferenceEntrypoints:
    db: Any
    caller: Any

    @rpc
    def company_refs(self, company_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``{id: {id, name, group, deleted}}`` for the caller's companies among ``company_ids``
        (at most 1000); other ids are left out."""
        caller = self.caller.user()
        with self.db.read() as session:
            return companies.refs(session, caller, company_ids)

    @rpc
    def live_ids(self, contact_ids: list[str], company_ids: list[str]) -> dict[str, list[str]]:
        """Which of ``contact_ids`` and ``company_ids`` (at most 1000 each) are contacts and
        companies of the caller's organisation that are not deleted: ``{contact_ids, company_ids}``.
        One call checks every contact and company a record of another service names."""
        caller = self.caller.user()
        with self.db.read() as session:
            return references.live_ids(session, caller, contact_ids, company_ids)

    @rpc
    def positions(self, contact_ids: list[str], company_ids: list[str]) -> dict[str, Any]:
        """Where the caller's live contacts and companies among ``contact_ids`` and ``company_ids``
        (at most 1000 each) are: ``{contacts: {id: {id, name, position}}, companies: {...}}``,
        ``position`` ``{latitude, longitude, source}`` or None; other ids are left out. For
        interactions' check-ins (the distance to the visited company or contact)."""
        caller = self.caller.user()
        with self.db.read() as session:
            return references.positions(session, caller, contact_ids, company_ids)

    @rpc
    def find_by_emails(self, org_id: str, emails: list[str]) -> dict[str, Any] | None:
        """Internal, for mail ingestion (no caller token): ``{contact_id, company_id}`` of the live
        contact of ``org_id`` whose e-mail is the first of ``emails`` (at most 20, in the order
        given) that one has, with its current company (the first by name; None without one);
        None when no address is a contact's."""
        with self.db.read() as session:
            return references.find_by_emails(session, org_id, emails)

    @rpc
    def find_many_by_emails(self, queries: list[Any]) -> list[dict[str, Any] | None]:
        """Internal, for mail ingestion: ``find_by_emails`` for each ``[org_id, emails]`` of
        ``queries`` (at most 50), answered in the same order, in one call (mailin asks for a
        batch of mails at once)."""
        with self.db.read() as session:
            return references.find_many_by_emails(session, queries)
