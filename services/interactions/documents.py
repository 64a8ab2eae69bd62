"""Documents of an interaction: uploaded files, kept in the blob store by content hash, and links
to online documents.

A document belongs to one interaction, and through it to the interaction's
contacts and companies. The file's bytes travel base64-encoded over RPC (the
wire carries JSON only) and are decoded here; the blob store keeps them under
their SHA-256, so the same file uploaded twice is stored once. Metadata
(name, type, size, content type, who, when) lives in ``documents``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.blobs import BlobNotFound, BlobStore
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import has_values, record_of, replayed
from crm.times import iso, utcnow
from services.interactions.document_schemas import DocumentLink, DocumentUpload
from services.interactions.exceptions import DocumentNotFound, InteractionNotFound
from services.interactions.interactions import interaction_of, linked_to, newest_first_page
from services.interactions.models import Document, Interaction

log = logging.getLogger(__name__)


def decode(content_base64: str, max_bytes: int) -> bytes:
    """The file's bytes; not base64, empty or over ``max_bytes`` is refused naming ``content_base64``."""
    compact = "".join(content_base64.split())
    if len(compact) // 4 * 3 > max_bytes + 2:  # refused before decoding it
        raise invalid("content_base64", f"the document is over {max_bytes} bytes")
    try:
        content = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("content_base64", "not valid base64") from None
    if not content:
        raise invalid("content_base64", "the document is empty")
    if len(content) > max_bytes:
        raise invalid("content_base64", f"the document is over {max_bytes} bytes")
    return content


def document_of(session: Session, org_id: str, document_id: str) -> Document:
    row = record_of(session, Document, org_id, document_id, DocumentNotFound, "document")
    try:
        interaction_of(session, org_id, row.interaction_id)
    except InteractionNotFound:  # a document goes with its deleted interaction
        raise DocumentNotFound(f"no document {document_id}") from None
    return row


def document_out(row: Document) -> dict[str, Any]:
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "name": row.name,
        "document_type": row.document_type,
        "kind": "link" if row.url is not None else "file",
        "url": row.url,
        "blob_hash": row.blob_hash,
        "size": row.size,
        "content_type": row.content_type,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }


def _add(
    uow: UnitOfWork, caller: Caller, interaction_id: str, document_id: str | None, fields: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    session = uow.session
    interaction = interaction_of(session, caller.org_id, interaction_id)
    same = {"interaction_id": interaction.id, **fields}
    existing = replayed(session, Document, document_id, caller.org_id, lambda row: has_values(row, same))
    if existing is not None:
        return document_out(existing), False
    row = Document(
        id=document_id or new_id(),
        org_id=caller.org_id,
        interaction_id=interaction.id,
        created_by=caller.user_id,
        created_at=utcnow(),
        **fields,
    )
    session.add(row)
    session.flush()
    record = document_out(row)
    uow.emit("interaction_document_added", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record, True


def add_file(
    uow: UnitOfWork, caller: Caller, interaction_id: str, request: DocumentUpload, blob_hash: str, size: int
) -> tuple[dict[str, Any], bool]:
    """Attach an uploaded file, already in the blob store under ``blob_hash``."""
    fields = {
        "name": request.name,
        "document_type": request.document_type,
        "url": None,
        "blob_hash": blob_hash,
        "size": size,
        "content_type": request.content_type,
    }
    return _add(uow, caller, interaction_id, request.id, fields)


def add_link(
    uow: UnitOfWork, caller: Caller, interaction_id: str, request: DocumentLink
) -> tuple[dict[str, Any], bool]:
    """Attach a link to an online document."""
    fields = {
        "name": request.name,
        "document_type": request.document_type,
        "url": request.url,
        "blob_hash": None,
        "size": None,
        "content_type": None,
    }
    return _add(uow, caller, interaction_id, request.id, fields)


def list_documents(session: Session, caller: Caller, interaction_id: str) -> list[dict[str, Any]]:
    """The interaction's documents, oldest first."""
    interaction = interaction_of(session, caller.org_id, interaction_id)
    rows = session.scalars(
        select(Document)
        .where(Document.interaction_id == interaction.id)
        .order_by(Document.created_at, Document.id)
    ).all()
    return [document_out(row) for row in rows]


def documents_of_record(session: Session, caller: Caller, query: Any) -> dict[str, Any]:
    """Documents of the interactions (not deleted) linked to one contact or company, newest first.

    A document attached to an interaction belongs with its contacts and companies;
    this is that list as a contact's or a company's page shows it.
    """
    if (query.contact_id is None) == (query.company_id is None):
        raise invalid("contact_id", "give exactly one of contact_id or company_id")
    kind, target_id = ("contact", query.contact_id) if query.contact_id else ("company", query.company_id)
    statement = (
        select(Document)
        .join(Interaction, Interaction.id == Document.interaction_id)
        .where(
            Document.org_id == caller.org_id,
            Document.interaction_id.in_(linked_to(caller.org_id, kind, target_id)),
            Interaction.deleted_at.is_(None),
        )
    )
    page, next_cursor = newest_first_page(
        session, caller.org_id, statement, Document.id, query.limit, query.cursor
    )
    return {"items": [document_out(row) for row in page], "next_cursor": next_cursor}


def content(row: Document, store: BlobStore) -> dict[str, Any]:
    """A stored file's bytes, base64-encoded, with its name and content type; a link has none."""
    if row.blob_hash is None:
        raise DocumentNotFound(
            f"document {row.id} is a link to {row.url}; it has no stored content",
            [{"field": "document_id", "message": "a link, not a file"}],
        )
    try:
        stored = store.get(row.blob_hash)
    except BlobNotFound:
        log.error("document %s: blob %s is missing from the blob store", row.id, row.blob_hash)
        raise DocumentNotFound(f"the content of document {row.id} is missing") from None
    return {
        "id": row.id,
        "name": row.name,
        "content_type": row.content_type or "application/octet-stream",
        "size": len(stored),
        "content_base64": base64.b64encode(stored).decode(),
    }
