"""Entrypoints for documents of interactions: files (bytes in the blob store) and links.

Mixed into ``InteractionsService``, whose dependencies they use."""

from __future__ import annotations

from typing import Any

from crm.blobs import open_blob_store
from crm.rpc import rpc
from crm.validation import validate
from services.interactions import documents
from services.interactions.document_schemas import (
    DocumentLink,
    DocumentListQuery,
    DocumentUpload,
    document_max_bytes,
)
from services.interactions.interactions import interaction_of


class DocumentEntrypoints:
    db: Any
    caller: Any
    config: Any

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
