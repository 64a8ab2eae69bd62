"""Pending e-mails: ``mail_received`` (from mailin) becomes an interaction for its user to process.

The interaction is of type ``pending_email`` (status "to process"), owned by the user the mail
reached, dated when it was sent (else received), linked to the contact and company mailin found
for its sender (or a forward's original sender). Its documents are the attachments, the HTML
body (``message.html``) and the raw message (``message.eml``), all already in the blob store.
What could not be read of the mail is said in a note.

Once per event (the inbox) and once per user and message key: the interaction's id is derived
from (organisation, owner, message key), so a second ``mail_received`` for a mail the user
already has (redelivered, or sent again with the same Message-ID) finds it and adds nothing,
even when the first was deleted since.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess, UnitOfWork
from crm.ids import new_id
from crm.inbox import applied, delivery_row
from crm.times import utcnow
from services.interactions import catalogue
from services.interactions.documents import document_out
from services.interactions.interaction_records import new_interaction_out
from services.interactions.mail_schemas import MailAddress, MailReceived, MailReceivedEvent
from services.interactions.models import Document, Interaction, InteractionLink, InteractionType, Note, inbox
from services.interactions.notes import note_out, stamp

log = logging.getLogger(__name__)

PENDING_EMAIL = "pending_email"
CONSUMER = "interactions.mail_received"
ATTACHMENT = "email_attachment"
BODY = "email_body"
MESSAGE = "email_message"
HTML_NAME = "message.html"
RAW_CONTENT_TYPE = "message/rfc822"
NO_SUBJECT = "(no subject)"
# As much of the text as an interaction's description takes through the API; the rest is in the .eml.
MAX_DESCRIPTION = 20_000
NOTE_AUTHOR = "Mail ingestion"
_NAMESPACE = uuid.UUID("6d1c1f0e-5a47-4a8e-9a1e-0c5e7a3f2b10")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def interaction_id_for(org_id: str, owner_id: str, message_key: str) -> str:
    """The pending e-mail's id: the same mail for the same user is the same interaction."""
    return str(uuid.uuid5(_NAMESPACE, f"{org_id}\n{owner_id}\n{message_key}"))


def receive(db: DatabaseAccess, payload: Any) -> dict[str, Any] | None:
    """Apply one ``mail_received`` event; returns the interaction it made, if it made one.

    A malformed event is logged and dropped (redelivering cannot mend it). A redelivery racing
    the first one fails on a primary key and is dropped: the first one's effects count.
    """
    try:
        event = MailReceivedEvent.model_validate(payload)
    except ValidationError as exc:
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        log.warning("dropping malformed mail_received event %s: %s", event_id, exc)
        return None
    try:
        # Read, then one INSERT of everything (the inbox row included): no BEGIN and COMMIT on
        # PostgreSQL. The organisation's first pending e-mail seeds its types: a transaction.
        with db.single_write() as uow:
            made = create(uow, event)
        if made is not UNSEEDED:
            return made
        with db.transaction() as uow:
            return create(uow, event, may_seed=True)
    except IntegrityError:
        log.info("mail_received event %s was applied by a concurrent delivery", event.event_id)
        return None


def create(uow: UnitOfWork, event: MailReceivedEvent, may_seed: bool = False) -> Any:
    """The pending e-mail of the event's mail in ``uow``, written with the event's inbox row in
    one insert; None when the event was applied before (the inbox) or the user already has the
    mail; ``UNSEEDED`` when the organisation's types are not seeded yet and ``may_seed`` is
    false (the caller tries again in a transaction)."""
    session, org_id, mail = uow.session, event.org_id, event.record
    interaction_id = interaction_id_for(org_id, mail.user_id, mail.message_key)
    parameters = {"org_id": org_id, "interaction_id": interaction_id, "event_id": event.event_id}
    kind = session.execute(_KIND, parameters).first()
    if kind is not None and kind.processed:
        return None
    if kind is None and not may_seed:
        return UNSEEDED
    if kind is None and _processed(session, event.event_id):
        return None
    existing, status = _existing_and_first_status(session, org_id, interaction_id, kind)
    if existing:
        log.info(
            "mail %s: user %s already has it as interaction %s",
            mail.message_key[:80],
            mail.user_id,
            interaction_id,
        )
        return None
    now = utcnow()
    values = {
        "id": interaction_id,
        "org_id": org_id,
        "subject": _clean(mail.subject).strip()[:500] or NO_SUBJECT,
        "type_key": PENDING_EMAIL,
        "status_key": status,
        "start_at": mail.sent_at or mail.received_at,
        "end_at": None,
        "all_day": False,
        "budget_amount": None,
        "budget_currency": None,
        "owner_id": mail.user_id,
        "project_id": None,
        "description": description(mail),
        "version": 1,
        "created_by": mail.user_id,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "long_until": None,  # it has no end
    }
    links = [
        {"interaction_id": interaction_id, "kind": kind_name, "target_id": target_id, "org_id": org_id}
        for kind_name, target_id in (("contact", mail.contact_id), ("company", mail.company_id))
        if target_id
    ]
    documents = [_document(values, now, **fields) for fields in _documents_of(mail)]
    note = _problems_note(values, now, mail.problems)
    # Everything it is made of is here: no query for links, participants or bookings (it has
    # none but its two links), and its documents travel in the same event (one event, not one
    # per document, for what consumers apply in one transaction). Inserted as built, with its
    # events, without the ORM's unit of work (one statement on PostgreSQL).
    record = new_interaction_out(
        Interaction(**values), contact_ids=[mail.contact_id], company_ids=[mail.company_id]
    )
    record["documents"] = [document_out(Document(**document)) for document in documents]
    uow.emit("interaction_created", org_id=org_id, actor_id=None, record=record)
    if note is not None:
        uow.emit("interaction_note_added", org_id=org_id, actor_id=None, record=note_out(Note(**note)))
    rows = [
        (Interaction.__table__, [values]),
        (InteractionLink.__table__, links),
        (Document.__table__, documents),
        (Note.__table__, [note] if note is not None else []),
        (inbox, [delivery_row(event.event_id, CONSUMER)]),
    ]
    # A delivery of the same event at the same moment fails here on a primary key, whole.
    uow.insert(rows)
    return record


_TYPES, _INTERACTIONS = InteractionType.__table__, Interaction.__table__
# What ``create`` answers when the organisation's types are not seeded and it may not seed them.
UNSEEDED = object()


# The pending e-mail type's key and statuses (the admins' to change: read each time, not kept) and
# whether the interaction exists already.
_KIND = select(
    _TYPES.c.key,
    _TYPES.c.statuses,
    select(_INTERACTIONS.c.id)
    .where(_INTERACTIONS.c.id == bindparam("interaction_id"))
    .exists()
    .label("existing"),
    applied(CONSUMER).label("processed"),
).where(_TYPES.c.org_id == bindparam("org_id"), _TYPES.c.key == PENDING_EMAIL)


def _processed(session: Session, event_id: str) -> bool:
    return session.execute(select(applied(CONSUMER)), {"event_id": event_id}).scalar_one()


def _existing_and_first_status(
    session: Session, org_id: str, interaction_id: str, kind: Row | None
) -> tuple[bool, str]:
    """Whether the interaction exists already, and the pending e-mail type's first status, from
    what ``_KIND`` read."""
    if kind is None:  # the organisation's types are not seeded yet: type_of seeds them
        seeded = catalogue.type_of(session, org_id, PENDING_EMAIL)
        return session.get(Interaction, interaction_id) is not None, catalogue.check_status(seeded, None)
    return bool(kind.existing), catalogue.check_status(kind, None)


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _who(address: MailAddress) -> str:
    name = _clean(address.name).strip()
    return f"{name} <{address.address}>" if name else address.address


def description(mail: MailReceived) -> str | None:
    """Who sent it (and who wrote it first, for a forward), then the text."""
    lines = []
    if mail.sender is not None:
        lines.append(f"From: {_who(mail.sender)}")
    if mail.original_sender is not None and mail.original_sender != mail.sender:
        lines.append(f"Originally from: {_who(mail.original_sender)}")
    head = "\n".join(lines)
    text = _clean(mail.text).strip()
    room = MAX_DESCRIPTION - len(head) - 2
    if len(text) > room:
        cut = "\n\n[… the rest of the text is in message.eml]"
        text = text[: max(0, room - len(cut))].rstrip() + cut
    return "\n\n".join(part for part in (head, text) if part) or None


def _documents_of(mail: MailReceived) -> list[dict[str, Any]]:
    found = [
        {
            "name": attachment.name,
            "document_type": ATTACHMENT,
            "blob_hash": attachment.blob_hash,
            "size": attachment.size,
            "content_type": attachment.content_type,
        }
        for attachment in mail.attachments
    ]
    if mail.html is not None:
        found.append(
            {
                "name": HTML_NAME,
                "document_type": BODY,
                "blob_hash": mail.html.blob_hash,
                "size": mail.html.size,
                "content_type": "text/html",
            }
        )
    found.append(
        {
            "name": mail.raw.name,
            "document_type": MESSAGE,
            "blob_hash": mail.raw.blob_hash,
            "size": mail.raw.size,
            "content_type": RAW_CONTENT_TYPE,
        }
    )
    return found


def _document(
    interaction: dict[str, Any],
    now: datetime,
    *,
    name: str,
    document_type: str,
    blob_hash: str,
    size: int,
    content_type: str,
) -> dict[str, Any]:
    """A document's row (every column, so that all rows of the insert have the same keys)."""
    return {
        "id": new_id(),
        "org_id": interaction["org_id"],
        "interaction_id": interaction["id"],
        "name": _clean(name).strip()[:255] or "attachment",
        "document_type": document_type,
        "url": None,
        "blob_hash": blob_hash,
        "size": size,
        "content_type": (content_type or "application/octet-stream")[:100],
        "created_by": interaction["owner_id"],
        "created_at": now,
    }


def _problems_note(interaction: dict[str, Any], now: datetime, problems: list[str]) -> dict[str, Any] | None:
    said = [_clean(problem).strip() for problem in problems if problem.strip()]
    if not said:
        return None
    text = "This mail could not be read completely; the message as it came is in message.eml.\n" + "\n".join(
        f"- {problem}" for problem in dict.fromkeys(said)
    )
    return {
        "id": new_id(),
        "org_id": interaction["org_id"],
        "interaction_id": interaction["id"],
        "author_id": interaction["owner_id"],
        "stamp": stamp(NOTE_AUTHOR, now, None),
        "text": text[:MAX_DESCRIPTION],
        "written_at": now,
    }
