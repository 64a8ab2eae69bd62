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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
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
# Deliveries taken, processed and committed together: one query takes them, three statements write
# them all and one commit ends them (one that fails is noted alone), and one contacts lookup
# links them. A kill redoes the whole batch. 10 cost contacts 0.35-0.4 ms of CPU per mail in
# RPCs during bench.smtp_ingest, 25 costs it 0.2.
BATCH = 25
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


def _take_pending(session: Session, now: datetime, limit: int) -> list[Row]:
    """Pending deliveries due now with what they need of their message, locked (rows, no ORM)."""
    deliveries, messages = Delivery.__table__, RawMessage.__table__
    query = (
        select(
            deliveries.c.id,
            deliveries.c.org_id,
            deliveries.c.user_id,
            deliveries.c.attempts,
            messages.c.blob_hash,
            messages.c.size,
            messages.c.received_at,
            messages.c.source,
        )
        .join_from(deliveries, messages, messages.c.id == deliveries.c.raw_message_id)
        .where(
            deliveries.c.status == PENDING,
            or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=deliveries)
    return list(session.execute(query).all())


def process_next(
    db: DatabaseAccess, blobs: BlobStore, find_contacts: FindContacts | None, batch: int = BATCH
) -> int:
    """Process up to ``batch`` pending deliveries in one transaction; how many were done or
    failed (0 when there was none to take).

    Their messages are read first and their contacts looked up in one call for the batch. A
    failure ends the batch: the delivery is noted, backing off, and the ones after it stay
    pending for the next pass, so that a peer away (contacts timing out) costs one wait per pass,
    as with one delivery at a time, not one per delivery of the batch. What the batch writes
    (the users' copies, the deliveries marked, the events) goes in a few statements for the whole
    batch; should they fail, each delivery is written again on its own (``deliver``)."""
    with db.transaction() as uow:
        taken = _take_pending(uow.session, utcnow(), batch)
        read: list[tuple[Row, ParsedMail]] = []
        failure: tuple[Row, Exception] | None = None
        for delivery in taken:
            try:
                read.append((delivery, read_message(blobs.get(delivery.blob_hash))))
            except Exception as exc:  # the store away, or this message's blob gone
                failure = (delivery, exc)
                break
        try:
            links = _find_links(find_contacts, [(delivery.org_id, parsed) for delivery, parsed in read])
        except Exception as exc:  # contacts away: the first says why, the others wait their turn
            failure, read, links = (read[0][0], exc), [], []
        ready: list[Ready] = []
        for (delivery, parsed), found in zip(read, links, strict=True):
            try:
                ready.append(_ready(blobs, delivery, parsed, found))
            except Exception as exc:  # its HTML or files could not be stored
                failure = (delivery, exc)
                break
        handled = _deliver_all(uow, ready) if ready else 0
        if handled < len(ready):  # one failed as it was written alone: the batch ends with it
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


@dataclass(frozen=True)
class Ready:
    """A taken delivery with its message key and, should it be the user's first copy, the
    ``mail_received`` record (its HTML and files already in the blob store)."""

    delivery: Row
    key: str
    record: dict[str, Any]


def _ready(blobs: BlobStore, delivery: Row, parsed: ParsedMail, links: dict[str, Any] | None) -> Ready:
    key = message_key_of(parsed)
    return Ready(delivery, key, mail_received_record(delivery, parsed, key, blobs, links or {}))


def _deliver_all(uow: UnitOfWork, ready: list[Ready]) -> int:
    """Record the users' copies, mark the deliveries processed and emit ``mail_received`` for the
    first copies, for the whole batch in three statements; how many were handled. Should the
    database refuse them (what one was made of cannot be stored), each is written again alone
    (``deliver``) in a savepoint of its own, and the first that fails is noted and ends them."""
    session, now = uow.session, utcnow()
    mark = uow.events_mark()
    try:
        with session.begin_nested():
            # Rows as parameters (many VALUES filled in by the driver), not in the statement:
            # the statement is then the same for every batch and compiled once, not per batch.
            ingested = Ingested.__table__
            statement = insert_ignoring_duplicates(session, ingested).returning(ingested.c.delivery_id)
            rows = [_ingested_row(item, now) for item in ready]
            firsts = set(session.connection().execute(statement, rows).scalars())
            _mark_processed(session, [(item, item.delivery.id not in firsts) for item in ready], now)
            for item in ready:
                if item.delivery.id in firsts:
                    _emit(uow, item)
                else:
                    _said_duplicate(item)
            uow.write_events()  # in the savepoint: a refused event is undone with the rest
        return len(ready)
    except Exception as exc:
        uow.drop_events_since(mark)
        log.warning("mail deliveries of a batch written one by one: %s", exc)
        for position, item in enumerate(ready):
            mark = uow.events_mark()
            try:
                with session.begin_nested():
                    deliver(uow, item, now)
                    uow.write_events()
            except Exception as exc:  # the savepoint is gone; keep why, and try again later
                uow.drop_events_since(mark)
                _note_failure(session, item.delivery.id, item.delivery.attempts + 1, exc)
                return position + 1  # the ones after it wait for the next pass
    return len(ready)


def deliver(uow: UnitOfWork, item: Ready, now: datetime) -> None:
    """One delivery alone: the user's copy, the delivery marked, ``mail_received`` or a duplicate."""
    session = uow.session
    first = session.execute(
        insert_ignoring_duplicates(session, Ingested.__table__).values(_ingested_row(item, now))
    )
    duplicate = first.rowcount == 0
    _mark_processed(session, [(item, duplicate)], now)
    if duplicate:
        _said_duplicate(item)
    else:
        _emit(uow, item)


def _ingested_row(item: Ready, now: datetime) -> dict[str, Any]:
    delivery = item.delivery
    return {
        "org_id": delivery.org_id,
        "user_id": delivery.user_id,
        "message_key": item.key,
        "delivery_id": delivery.id,
        "created_at": now,
    }


def _mark_processed(session: Session, items: list[tuple[Ready, bool]], now: datetime) -> None:
    """Each delivery processed, with its key and whether it was a duplicate: one round trip."""
    deliveries = Delivery.__table__
    statement = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("delivery_id"))
        .values(
            status=PROCESSED,
            processed_at=now,
            attempts=deliveries.c.attempts + 1,
            last_error=None,
            message_key=bindparam("key"),
            duplicate=bindparam("is_duplicate"),
        )
    )
    parameters = [
        {"delivery_id": item.delivery.id, "key": item.key, "is_duplicate": duplicate}
        for item, duplicate in items
    ]
    session.connection().execute(statement, parameters)


def _emit(uow: UnitOfWork, item: Ready) -> None:
    delivery = item.delivery
    uow.emit(MAIL_RECEIVED, org_id=delivery.org_id, actor_id=delivery.user_id, record=item.record)


def _said_duplicate(item: Ready) -> None:
    log.info("mail delivery %s: the user already has message %s", item.delivery.id, item.key[:80])


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
    delivery: Row,
    parsed: ParsedMail,
    message_key: str,
    blobs: BlobStore,
    links: dict[str, Any],
) -> dict[str, Any]:
    """The ``mail_received`` record (see docs/rpc-and-events.md) of a taken delivery (with its
    message's columns); puts the HTML and files in the store."""
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
        "received_at": iso(delivery.received_at),
        "sent_at": iso(parsed.sent_at),
        "text": parsed.text,
        "html": html,
        "attachments": attachments,
        "raw": {"blob_hash": delivery.blob_hash, "size": delivery.size, "name": RAW_NAME},
        "contact_id": links.get("contact_id"),
        "company_id": links.get("company_id"),
        "problems": list(parsed.problems),
        "source": delivery.source,
    }
