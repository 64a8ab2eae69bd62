"""Entrypoints for the work done on interactions: templates, timers and time entries,
timestamped notes, documents. Mixed into ``InteractionsService``, whose
dependencies (``db``, ``caller``, ``accounts``, ``contacts``, ``config``) they use.

Services are asked before the transaction opens (no row stays locked while another
service answers): the caller's name, time zone and hourly cost from ``accounts``,
companies and contacts from ``contacts``.
"""

from __future__ import annotations

from typing import Any

from crm.blobs import open_blob_store
from crm.errors import NotFound, invalid
from crm.rpc import rpc
from crm.validation import validate
from services.interactions import documents, notes, templates, timers
from services.interactions.interactions import interaction_of
from services.interactions.work_schemas import (
    DocumentLink,
    DocumentListQuery,
    DocumentUpload,
    NoteAppend,
    TemplateCreate,
    TemplateRun,
    TemplateUpdate,
    TimeTotalsQuery,
    document_max_bytes,
)


class WorkEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    contacts: Any
    config: Any

    # -- templates ------------------------------------------------------------------------------

    @rpc
    def list_templates(self) -> list[dict[str, Any]]:
        """The organisation's templates, by name."""
        caller = self.caller.user()
        with self.db.read() as session:
            return templates.list_templates(session, caller.org_id)

    @rpc
    def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a template (admin). An unknown tag in the subject, or an unknown type or status,
        is refused naming the field. The id of an existing template with the same content is a
        replay (``created`` false)."""
        caller = self.caller.admin_writer()
        request = validate(TemplateCreate, data)
        with self.db.transaction() as uow:
            record, created = templates.create_template(uow, caller, request)
        return {**record, "created": created}

    @rpc
    def update_template(self, template_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given (admin), checked as on create; ``counter`` restarts the numbering."""
        caller = self.caller.admin_writer()
        request = validate(TemplateUpdate, changes)
        with self.db.transaction() as uow:
            return templates.update_template(uow, caller, template_id, request)

    @rpc
    def delete_template(self, template_id: str) -> None:
        """Delete a template (admin); the interactions it created stay."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            templates.delete_template(uow, caller, template_id)

    @rpc
    def run_template(self, template_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create the template's interaction, its subject's tags filled, starting at ``start_at``
        (default now) and lasting the template's duration; the template's counter moves on by one."""
        caller = self.caller.writer()
        request = validate(TemplateRun, data)
        user = self.accounts.get_user(caller.user_id)
        company = contact = None
        try:
            if request.company_id is not None:
                company = self.contacts.get_company(request.company_id)
        except NotFound:
            raise invalid("company_id", f"no company {request.company_id}") from None
        try:
            if request.contact_id is not None:
                contact = self.contacts.get_contact(request.contact_id)
        except NotFound:
            raise invalid("contact_id", f"no contact {request.contact_id}") from None
        if request.owner_id is not None and request.owner_id != caller.user_id:
            try:
                self.accounts.get_user(request.owner_id)
            except NotFound:
                raise invalid("owner_id", f"no user {request.owner_id} in your organisation") from None
        with self.db.transaction() as uow:
            return templates.run(uow, caller, template_id, request, user, company, contact)

    # -- timers and time entries ----------------------------------------------------------------

    @rpc
    def start_timer(self, interaction_id: str) -> dict[str, Any]:
        """Start the caller's timer on the interaction. One timer per user: another one running
        is a conflict naming its interaction."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return timers.start(uow, caller, interaction_id)

    @rpc
    def stop_timer(self) -> dict[str, Any]:
        """Stop the caller's timer and book the time entry, costed at the caller's hourly cost now
        (no hourly cost: no cost). No timer running is a conflict, and changes nothing."""
        caller = self.caller.writer()
        hourly_cost = self.accounts.get_user(caller.user_id).get("hourly_cost")
        with self.db.transaction() as uow:
            return timers.stop(uow, caller, hourly_cost)

    @rpc
    def get_timer(self) -> dict[str, Any]:
        """The caller's running timer (``timer`` null when none runs)."""
        caller = self.caller.user()
        with self.db.read() as session:
            return timers.running(session, caller)

    @rpc
    def time_totals(self, query: dict[str, Any]) -> dict[str, Any]:
        """Seconds and costs per currency booked on an interaction, a project or by a user
        (exactly one of ``interaction_id``, ``project_id``, ``user_id``)."""
        caller = self.caller.user()
        request = validate(TimeTotalsQuery, query)
        with self.db.read() as session:
            return timers.totals(session, caller, request)

    # -- notes ----------------------------------------------------------------------------------

    @rpc
    def append_note(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Append a note, stamped with the caller's name and the time in their time zone.
        Notes are never changed nor deleted."""
        caller = self.caller.writer()
        request = validate(NoteAppend, data)
        author = self.accounts.get_user(caller.user_id)
        with self.db.transaction() as uow:
            record, created = notes.append(uow, caller, interaction_id, request, author)
        return {**record, "created": created}

    @rpc
    def list_notes(self, interaction_id: str) -> list[dict[str, Any]]:
        """The interaction's notes, oldest first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return notes.list_notes(session, caller, interaction_id)

    # -- documents ------------------------------------------------------------------------------

    @rpc
    def upload_document(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Attach a file (bytes base64-encoded in ``content_base64``), stored by its SHA-256.
        Over the size limit, empty or not base64 is refused naming ``content_base64``."""
        caller = self.caller.writer()
        request = validate(DocumentUpload, data)
        content = documents.decode(request.content_base64, document_max_bytes(self.config["CRM"]))
        with self.db.read() as session:  # no bytes stored for an interaction that is not there
            interaction_of(session, caller.org_id, interaction_id)
        blob_hash = open_blob_store(self.config["CRM"]).put(content)
        with self.db.transaction() as uow:
            record, created = documents.add_file(
                uow, caller, interaction_id, request, blob_hash, len(content)
            )
        return {**record, "created": created}

    @rpc
    def add_document_link(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Attach a link to an online document (http or https)."""
        caller = self.caller.writer()
        request = validate(DocumentLink, data)
        with self.db.transaction() as uow:
            record, created = documents.add_link(uow, caller, interaction_id, request)
        return {**record, "created": created}

    @rpc
    def list_documents(self, interaction_id: str) -> list[dict[str, Any]]:
        """The interaction's files and links, oldest first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return documents.list_documents(session, caller, interaction_id)

    @rpc
    def list_record_documents(self, query: dict[str, Any]) -> dict[str, Any]:
        """Documents of the interactions linked to a contact or a company, newest first."""
        caller = self.caller.user()
        request = validate(DocumentListQuery, query)
        with self.db.read() as session:
            return documents.documents_of_record(session, caller, request)

    @rpc
    def get_document_content(self, document_id: str) -> dict[str, Any]:
        """A file's bytes (base64), name and content type. A link has no content: not found."""
        caller = self.caller.user()
        with self.db.read() as session:
            row = documents.document_of(session, caller.org_id, document_id)
        return documents.content(row, open_blob_store(self.config["CRM"]))
