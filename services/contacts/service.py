"""contacts: companies and their sites, contacts, employments, interests, search. Entrypoints only.

Every call acts for the caller of the access token in the context data, within
their organisation: another organisation's record is not found, and read-only
users may read but not write.
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config
from nameko.events import event_handler

from crm.auth import CallerProvider
from crm.database import Database, once_more_on_conflict
from crm.health import Pingable
from crm.rpc import rpc
from crm.validation import validate
from services.contacts import (
    companies,
    contacts,
    employments,
    interests,
    search,
)
from services.contacts.csv import export as csv_export
from services.contacts.csv import jobs, runner
from services.contacts.csv.schemas import ContactExport, ImportPageQuery, ImportStart
from services.contacts.dependencies import ImportSlotsProvider
from services.contacts.models import Base
from services.contacts.schemas import (
    CompanyCreate,
    CompanySearch,
    CompanyUpdate,
    CompanyWithContacts,
    ContactCreate,
    ContactSearch,
    ContactUpdate,
    EmploymentCreate,
    EmploymentUpdate,
    InterestCreate,
    InterestQuery,
)
from services.contacts.service_batches import BatchEntrypoints
from services.contacts.service_references import ReferenceEntrypoints
from services.contacts.service_vcards import VCardEntrypoints


class ContactsService(VCardEntrypoints, BatchEntrypoints, ReferenceEntrypoints, Pingable):
    name = "contacts"

    db = Database(Base.metadata)
    caller = CallerProvider()
    import_slots = ImportSlotsProvider()

    config = Config()

    @property
    def region(self) -> str:
        """Where phone numbers without a country code are read."""
        return self.config["CRM"].contacts.default_phone_region

    # -- companies ----------------------------------------------------------

    @rpc
    def create_company(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a company (a site; sites of one business share ``group``).

        Giving the id of an existing company with the same content returns it
        with ``created`` false; other content is a conflict naming ``id``.
        """
        caller = self.caller.writer()
        request = validate(CompanyCreate, data)

        def create() -> tuple[dict[str, Any], bool]:
            with self.db.transaction() as uow:
                _, record, created = companies.create(uow, caller, request, self.region)
                return record, created

        record, created = once_more_on_conflict(create)  # the same id sent twice at once
        return {**record, "created": created}

    @rpc
    def update_company(self, company_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given; a stale ``version`` is a conflict. A new name or
        group is found by searches for the company's current employees at once."""
        caller = self.caller.writer()
        request = validate(CompanyUpdate, changes)
        with self.db.transaction() as uow:
            return companies.update(uow, caller, company_id, request, self.region)

    @rpc
    def get_company(self, company_id: str) -> dict[str, Any]:
        """The company with its current employees as ``contacts``."""
        caller = self.caller.user()
        with self.db.read() as session:
            return companies.get(session, caller, company_id)

    @rpc
    def delete_company(self, company_id: str) -> None:
        """Archive the company: it leaves lists and searches, its employments stay (not current
        while it is archived), its contacts stay. Archiving it again changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            companies.delete(uow, caller, company_id)

    @rpc
    def restore_company(self, company_id: str) -> dict[str, Any]:
        """Bring an archived company back with its employments (``company_updated``); a company
        that is not archived is a conflict (``NotArchived``)."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return companies.restore(uow, caller, company_id)

    @rpc
    def purge_company(self, company_id: str) -> None:
        """Admin only: delete an archived company for good with the employments at it
        (``company_purged``); its contacts stay. Not archived first: ``NotArchived``."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            companies.purge(uow, caller, company_id)

    @rpc
    def create_company_with_contacts(self, data: dict[str, Any]) -> dict[str, Any]:
        """A company and several contacts employed there, in one transaction.

        Any bad contact rejects the whole call, its errors naming ``contacts.N.field``.
        """
        caller = self.caller.writer()
        request = validate(CompanyWithContacts, data)
        with self.db.transaction() as uow:
            return companies.create_with_contacts(uow, caller, request, self.region)

    # -- contacts -----------------------------------------------------------

    @rpc
    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a contact, with ``employments`` at companies of the organisation.

        An e-mail already held by another contact is a conflict naming that contact.
        """
        caller = self.caller.writer()
        request = validate(ContactCreate, data)

        def create() -> tuple[dict[str, Any], bool]:
            # Reads, then the contact, its employments and its event in one statement.
            with self.db.single_write() as uow:
                return contacts.create_with_employments(uow, caller, request, self.region)

        # The same e-mail or id sent twice at once: the second is then a conflict or a replay.
        record, created = once_more_on_conflict(create)
        return {**record, "created": created}

    @rpc
    def update_contact(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given (``interests`` replaces the list); a stale ``version`` is a conflict."""
        caller = self.caller.writer()
        request = validate(ContactUpdate, changes)
        with self.db.transaction() as uow:
            return contacts.update(uow, caller, contact_id, request, self.region)

    @rpc
    def get_contact(self, contact_id: str) -> dict[str, Any]:
        """The contact with its whole employment history, latest start first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return contacts.get(session, caller, contact_id)

    @rpc
    def delete_contact(self, contact_id: str) -> None:
        """Archive the contact: it leaves lists and searches, its employments and interests stay,
        its e-mail address is free for another contact. Archiving it again changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            contacts.delete(uow, caller, contact_id)

    @rpc
    def restore_contact(self, contact_id: str) -> dict[str, Any]:
        """Bring an archived contact back with its employments and interests (``contact_updated``).
        Not archived: ``NotArchived``; its e-mail taken meanwhile: ``DuplicateContactEmail``."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return contacts.restore(uow, caller, contact_id)

    @rpc
    def purge_contact(self, contact_id: str) -> None:
        """Admin only: delete an archived contact for good with its employments and interests
        (``contact_purged``). Not archived first: ``NotArchived``."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            contacts.purge(uow, caller, contact_id)

    # -- employments --------------------------------------------------------

    @rpc
    def add_employment(self, contact_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Employ the contact at a company of the same organisation."""
        caller = self.caller.writer()
        request = validate(EmploymentCreate, data)
        with self.db.transaction() as uow:
            return employments.add(uow, caller, contact_id, request, self.region)

    @rpc
    def update_employment(self, employment_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change function, professional phones and e-mail, or dates; an end before the start is refused."""
        caller = self.caller.writer()
        request = validate(EmploymentUpdate, changes)
        with self.db.transaction() as uow:
            return employments.update(uow, caller, employment_id, request, self.region)

    @rpc
    def delete_employment(self, employment_id: str) -> None:
        """Remove an employment from the contact's history (to end one, set ``end_date``)."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            employments.delete(uow, caller, employment_id)

    # -- interests ----------------------------------------------------------

    @rpc
    def list_interests(self) -> dict[str, Any]:
        """The organisation's interests, by name."""
        caller = self.caller.user()
        with self.db.read() as session:
            return {"items": interests.list_all(session, caller.org_id)}

    @rpc
    def create_interest(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add an interest; a name already there (whatever its case) is a conflict."""
        caller = self.caller.writer()
        request = validate(InterestCreate, data)
        with self.db.transaction() as uow:
            record, created = interests.create(uow, caller, request)
        return {**record, "created": created}

    @rpc
    def delete_interest(self, interest_id: str) -> None:
        """Admin only: delete an interest and take it off every contact."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            interests.delete_interest(uow, caller, interest_id)

    @rpc
    def find_contacts_by_interests(
        self, interest_ids: list[str], match: str = "all", limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """Contacts having all (or any) of the interests, each with ``current_companies``."""
        caller = self.caller.user()
        request = validate(
            InterestQuery, {"interest_ids": interest_ids, "match": match, "limit": limit, "cursor": cursor}
        )
        with self.db.read() as session:
            return search.contacts_with_interests(session, caller, request)

    @rpc
    def find_companies_by_interests(
        self, interest_ids: list[str], match: str = "all", limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """Companies with a current employee having all (or any) of the interests."""
        caller = self.caller.user()
        request = validate(
            InterestQuery, {"interest_ids": interest_ids, "match": match, "limit": limit, "cursor": cursor}
        )
        with self.db.read() as session:
            return search.companies_with_interests(session, caller, request)

    # -- search -------------------------------------------------------------

    @rpc
    def search_contacts(
        self,
        q: str | None = None,
        sort: str = "last_name",
        direction: str = "asc",
        limit: int = 50,
        cursor: str | None = None,
        updated_since: str | None = None,
        near: str | None = None,
        within_m: float | None = None,
        archived: bool | None = None,
    ) -> dict[str, Any]:
        """Contacts whose names, e-mails, phones or current companies match ``q``, a page at a time;
        with ``updated_since``, only those changed at or after that date-time (for polling); with
        ``near`` ("lat,lon"), those with a position, nearest first with ``distance_m`` (within
        ``within_m`` metres if given) instead of ``sort``; with ``archived``, the archived ones
        instead of the live ones."""
        caller = self.caller.user()
        asked = {"q": q, "sort": sort, "direction": direction, "limit": limit, "cursor": cursor}
        around = {"near": near, "within_m": within_m}
        request = validate(
            ContactSearch, {**asked, "updated_since": updated_since, **around, "archived": archived}
        )
        with self.db.read() as session:
            return search.search_contacts(session, caller, request, self.region)

    @rpc
    def search_companies(
        self,
        q: str | None = None,
        sort: str = "name",
        direction: str = "asc",
        limit: int = 50,
        cursor: str | None = None,
        updated_since: str | None = None,
        near: str | None = None,
        within_m: float | None = None,
        archived: bool | None = None,
    ) -> dict[str, Any]:
        """Companies whose name, group, e-mail or phone match ``q``, a page at a time; with
        ``updated_since``, only those changed at or after that date-time (for polling); with
        ``near`` ("lat,lon"), those with a position, nearest first with ``distance_m`` (within
        ``within_m`` metres if given) instead of ``sort``; with ``archived``, the archived ones
        instead of the live ones."""
        caller = self.caller.user()
        asked = {"q": q, "sort": sort, "direction": direction, "limit": limit, "cursor": cursor}
        around = {"near": near, "within_m": within_m}
        request = validate(
            CompanySearch, {**asked, "updated_since": updated_since, **around, "archived": archived}
        )
        with self.db.read() as session:
            return search.search_companies(session, caller, request, self.region)

    # -- CSV import and export ----------------------------------------------

    @rpc
    def start_import(self, data: dict[str, Any]) -> dict[str, Any]:
        """Queue the import of a CSV file (base64, possibly zlib-compressed) and return the job at once.

        What concerns the whole file is checked now: size (``contacts.import_max_bytes``),
        encoding, delimiter, a name or e-mail column, the mapping. The rows are imported in
        the background (``import_queued``); ``get_import`` shows the progress. The same ``id``
        with the same file returns the existing job with ``created`` false.
        """
        caller = self.caller.writer()
        request = validate(ImportStart, data)
        max_bytes = self.config["CRM"].contacts.import_max_bytes
        with self.db.transaction() as uow:
            record, created = jobs.start(uow, caller, request, max_bytes)
        return {**record, "created": created}

    @event_handler("contacts", "import_queued")
    def run_import(self, payload: dict[str, Any]) -> None:
        """Import the queued job's rows, a batch per transaction, announcing ``import_started`` and
        ``import_finished``. A second delivery waits while the first runner is alive, and takes
        over (resuming after the rows done) once it has stopped."""
        settings = self.config["CRM"].contacts
        runner.run(
            self.db, payload["record"]["id"], settings.default_phone_region, settings.import_batch_size
        )

    @rpc
    def get_import(self, job_id: str) -> dict[str, Any]:
        """An import and its progress: ``rows_done`` of ``total_rows``, with counts by outcome."""
        caller = self.caller.user()
        with self.db.read() as session:
            return jobs.job_out(jobs.job_of(session, caller.org_id, job_id))

    @rpc
    def list_imports(self, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """The organisation's imports, latest first, a page at a time."""
        caller = self.caller.user()
        request = validate(ImportPageQuery, {"limit": limit, "cursor": cursor})
        with self.db.read() as session:
            return jobs.list_jobs(session, caller, request.limit, request.cursor)

    @rpc
    def list_import_errors(self, job_id: str, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """Why rows of an import were refused (row, line, column, reason), in file order."""
        caller = self.caller.user()
        request = validate(ImportPageQuery, {"limit": limit, "cursor": cursor})
        with self.db.read() as session:
            return jobs.list_errors(session, caller, job_id, request.limit, request.cursor)

    @rpc
    def export_import_errors_csv(self, job_id: str, cursor: str | None = None) -> dict[str, Any]:
        """The error report of an import as CSV text, one slice per call: ``{csv, next_cursor}``."""
        caller = self.caller.user()
        with self.db.read() as session:
            return jobs.errors_csv(session, caller, job_id, cursor)

    @rpc
    def export_contacts_csv(
        self,
        q: str | None = None,
        sort: str = "last_name",
        direction: str = "asc",
        language: str = "fr",
        cursor: str | None = None,
        layout: str = "crm",
        delimiter: str | None = None,
    ) -> dict[str, Any]:
        """The contacts ``search_contacts`` finds for ``q``, in its order, as CSV text with French
        (or English) headers an import reads back, or in Google's or Outlook's ``layout``: one slice
        per call, ``{csv, next_cursor}``."""
        caller = self.caller.user()
        request = validate(
            ContactExport,
            {
                "q": q,
                "sort": sort,
                "direction": direction,
                "language": language,
                "cursor": cursor,
                "layout": layout,
                "delimiter": delimiter,
            },
        )
        with self.db.read() as session:
            return csv_export.export_page(session, caller, request, self.region)
