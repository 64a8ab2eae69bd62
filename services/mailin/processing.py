"""Stored messages become ``mail_received``, each once per user, from the stored copy.

A pending delivery is taken in a transaction that locks its row (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so several mailin processes never take the same
one; SQLite has one writer at a time anyway). In that transaction the stored
bytes are read (``parsing.read_message``, which never raises), the HTML and
attachments are put in the blob store (content-addressed: doing it again after
a crash stores nothing twice), the user's copy is recorded in ``ingested``
(org, user, message key) and ``mail_received`` is written to the outbox with the
delivery marked processed. A kill at any point leaves the delivery pending,
and the next pass does it again; the commit is the one moment it happens.

A message the user already has (the same Message-ID by SMTP and IMAP, or
forwarded twice) is marked processed as a duplicate, with no event. When the
work fails (the blob store or the contacts lookup away), the delivery stays
pending with its error and is tried again later, backing off; it is never
given up.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm.blobs import BlobStore
from crm.database import DatabaseAccess, UnitOfWork, insert_ignoring_duplicates
from crm.times import iso, utcnow
from services.mailin.metrics import mail_failed
from services.mailin.models import PENDING, PROCESSED, Delivery, Ingested, RawMessage
from services.mailin.parsing import ParsedMail, read_message

log = logging.getLogger(__name__)

MAIL_RECEIVED = "mail_received"
RAW_NAME = "message.eml"
MAX_KEY_CHARS = 500
# Deliveries taken, processed and committed together: one query to take them and one commit for
# all, each in its own savepoint (one that fails is noted alone). A kill redoes the whole batch.
BATCH = 10
# Seconds before the n-th retry of a delivery that failed: 2, 4, 8, ... up to 10 minutes.
BACKOFF_CAP_SECONDS = 600

# [(org_id, addresses to try in order), ...] -> [{"contact_id", "company_id"} or None, ...], in one call
FindContacts = Callable[[list[tuple[str, list[str]]]], list[dict[str, Any] | None]]


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, 2 ** min(attempts, 20)))


def message_key_of(parsed: ParsedMail) -> str:
    """The key a user's copy is known by: the Message-ID, hashed when it is too long to index."""
    key = parsed.message_key
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "long-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _take_pending(session: Session, now: datetime, limit: int) -> list[Any]:
    query = (
        select(Delivery, RawMessage)
        .join(RawMessage, RawMessage.id == Delivery.raw_message_id)
        .where(
            Delivery.status == PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    return list(session.execute(query).all())


def process_next(
    db: DatabaseAccess, blobs: BlobStore, find_contacts: FindContacts | None, batch: int = BATCH
) -> int:
    """Process up to ``batch`` pending deliveries in one transaction, each in its own savepoint;
    how many were done or failed (0 when there was none to take).

    Their messages are read first and their contacts looked up in one call for the batch. A
    failure ends the batch: the delivery is noted, backing off, and the ones after it stay
    pending for the next pass, so that a peer away (contacts timing out) costs one wait per pass,
    as with one delivery at a time, not one per delivery of the batch."""
    with db.transaction() as uow:
        taken = _take_pending(uow.session, utcnow(), batch)
        read: list[tuple[Delivery, RawMessage, ParsedMail]] = []
        failure: tuple[Delivery, Exception] | None = None
        for delivery, raw_message in taken:
            try:
                read.append((delivery, raw_message, read_message(blobs.get(raw_message.blob_hash))))
            except Exception as exc:  # the store away, or this message's blob gone
                failure = (delivery, exc)
                break
        try:
            links = _find_links(find_contacts, [(delivery.org_id, parsed) for delivery, _, parsed in read])
        except Exception as exc:  # contacts away: the first says why, the others wait their turn
            failure, read, links = (read[0][0], exc), [], []
        handled = 0
        for (delivery, raw_message, parsed), found in zip(read, links, strict=True):
            handled += 1
            mark = uow.events_mark()
            try:
                with uow.session.begin_nested():
                    deliver(uow, blobs, delivery, raw_message, parsed, found)
            except Exception as exc:  # the savepoint is gone; keep why, and try again later
                uow.drop_events_since(mark)
                # What deliver set on the row (processed, its key) was not flushed before the
                # failure, so the savepoint's rollback did not undo it: forget it here.
                uow.session.expire(delivery)
                _note_failure(uow.session, delivery.id, delivery.attempts + 1, exc)
                return handled
        if failure is not None:
            _note_failure(uow.session, failure[0].id, failure[0].attempts + 1, failure[1])
            handled += 1
    return handled


def _note_failure(session: Session, delivery_id: str, attempts: int, exc: Exception) -> None:
    log.warning("mail delivery %s failed (attempt %d), tried again later: %s", delivery_id, attempts, exc)
    mail_failed.inc()
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=utcnow() + retry_delay(attempts),
        )
    )


def deliver(
    uow: UnitOfWork,
    blobs: BlobStore,
    delivery: Delivery,
    raw_message: RawMessage,
    parsed: ParsedMail,
    links: dict[str, Any] | None,
) -> None:
    """Turn one taken delivery, its message read and its contact looked up, into
    ``mail_received`` (or a duplicate) in ``uow``."""
    key = message_key_of(parsed)
    now = utcnow()
    first = uow.session.execute(
        insert_ignoring_duplicates(uow.session, Ingested.__table__).values(
            org_id=delivery.org_id,
            user_id=delivery.user_id,
            message_key=key,
            delivery_id=delivery.id,
            created_at=now,
        )
    )
    delivery.message_key = key
    delivery.status = PROCESSED
    delivery.processed_at = now
    delivery.attempts += 1
    delivery.last_error = None
    if first.rowcount == 0:
        delivery.duplicate = True
        log.info("mail delivery %s: the user already has message %s", delivery.id, key[:80])
        return
    record = mail_received_record(delivery, raw_message, parsed, key, blobs, links or {})
    uow.emit(MAIL_RECEIVED, org_id=delivery.org_id, actor_id=delivery.user_id, record=record)


def _find_links(
    find_contacts: FindContacts | None, mails: list[tuple[str, ParsedMail]]
) -> list[dict[str, Any] | None]:
    """For each mail, the contact (and company) of the original sender of a forward, else of the
    sender; one lookup for them all."""
    queries = [
        (org_id, [a.address for a in (parsed.original_sender, parsed.sender) if a is not None and a.address])
        for org_id, parsed in mails
    ]
    if find_contacts is None or not any(addresses for _, addresses in queries):
        return [None] * len(mails)
    return find_contacts(queries)


def _address(address: Any) -> dict[str, str] | None:
    return None if address is None else {"address": address.address, "name": address.name}


def mail_received_record(
    delivery: Delivery,
    raw_message: RawMessage,
    parsed: ParsedMail,
    message_key: str,
    blobs: BlobStore,
    links: dict[str, Any],
) -> dict[str, Any]:
    """The ``mail_received`` record (see docs/rpc-and-events.md); puts the HTML and files in the store."""
    html = None
    if parsed.html is not None:
        html_bytes = parsed.html.encode("utf-8")
        html = {"blob_hash": blobs.put(html_bytes), "size": len(html_bytes)}
    attachments = [
        {
            "name": attachment.name,
            "content_type": attachment.content_type,
            "size": len(attachment.data),
            "blob_hash": blobs.put(attachment.data),
            "inline": attachment.inline,
        }
        for attachment in parsed.attachments
    ]
    return {
        "delivery_id": delivery.id,
        "user_id": delivery.user_id,
        "message_key": message_key,
        "subject": parsed.subject,
        "sender": _address(parsed.sender),
        "original_sender": _address(parsed.original_sender),
        "received_at": iso(raw_message.received_at),
        "sent_at": iso(parsed.sent_at),
        "text": parsed.text,
        "html": html,
        "attachments": attachments,
        "raw": {"blob_hash": raw_message.blob_hash, "size": raw_message.size, "name": RAW_NAME},
        "contact_id": links.get("contact_id"),
        "company_id": links.get("company_id"),
        "problems": list(parsed.problems),
        "source": raw_message.source,
    }
