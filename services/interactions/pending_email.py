"""Pending e-mails: mail that reached a user's ingest address becomes an interaction to process."""

from __future__ import annotations

from typing import Any

from crm.database import UnitOfWork
from crm.ids import new_id
from crm.times import utcnow
from services.interactions import catalogue
from services.interactions.interactions import interaction_out
from services.interactions.models import Document, Interaction
from services.interactions.schemas import PendingEmail

PENDING_EMAIL = "pending_email"


def create(uow: UnitOfWork, request: PendingEmail) -> dict[str, Any]:
    """The interaction (type pending e-mail, owned by the recipient) and one document per attachment."""
    session = uow.session
    kind = catalogue.type_of(session, request.org_id, PENDING_EMAIL)
    now = utcnow()
    subject = request.subject.strip() or "(no subject)"
    row = Interaction(
        id=new_id(),
        org_id=request.org_id,
        subject=subject[:500],
        type_key=kind.key,
        status_key=catalogue.check_status(kind, None),
        start_at=request.received_at,
        end_at=None,
        all_day=False,
        owner_id=request.owner_id,
        description="\n\n".join(
            part for part in (f"From: {request.sender}" if request.sender else "", request.text or "") if part
        )
        or None,
        version=1,
        created_by=request.owner_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    for attachment in request.attachments:
        session.add(
            Document(
                id=new_id(),
                org_id=request.org_id,
                interaction_id=row.id,
                name=attachment.name,
                document_type="email_attachment",
                blob_hash=attachment.blob_hash,
                size=attachment.size,
                content_type=attachment.content_type,
                created_by=request.owner_id,
                created_at=now,
            )
        )
    session.flush()
    record = interaction_out(session, row)
    uow.emit("interaction_created", org_id=row.org_id, actor_id=None, record=record)
    return record
