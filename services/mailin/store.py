"""Keep a received message durably, once, with one pending delivery per recipient user.

The one way a message enters mailin, whichever door it came through (the SMTP
listener, an IMAP check)::

    store_message(engine, blobs, raw, [(org_id, user_id), ...], source="smtp"|"imap",
                  envelope_from=None, client_address=None, mailbox_id=None) -> raw_message_id

- ``engine``: mailin's SQLAlchemy engine (``self.db.engine`` in a worker,
  ``crm.database.create_service_engine(settings, "mailin")`` elsewhere);
- ``blobs``: the blob store (``crm.blobs.open_blob_store(settings)``);
- ``raw``: the message's bytes exactly as received;
- ``recipients``: the users it is for (duplicates are delivered once).

When it returns, the bytes are in the blob store (written and fsynced, by
``LocalBlobStore.put``) and the ``raw_messages`` row and its ``deliveries``
(status ``pending``) are committed: the caller may then say 250, or mark the
IMAP message imported. It raises if either step fails, and then nothing was
committed (a blob written without its row is harmless: the store is
content-addressed and the bytes are stored again next time). It parses
nothing: processing (``processing.py``) reads the stored copy later, and
decides there whether the user already has this message.

It blocks (a disk write and a database commit): call it from a worker or a
thread, never from the listener's event loop directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import Engine

from crm.blobs import BlobStore
from crm.database import DatabaseAccess
from crm.ids import new_id
from crm.outbox import insert_with_events, is_one_statement
from crm.times import utcnow
from services.mailin.models import PENDING, Delivery, RawMessage

Source = Literal["smtp", "imap"]


def store_message(
    engine: Engine,
    blobs: BlobStore,
    raw: bytes,
    recipients: Iterable[tuple[str, str]],
    *,
    source: Source,
    envelope_from: str | None = None,
    client_address: str | None = None,
    mailbox_id: str | None = None,
) -> str:
    """Store ``raw`` for each ``(org_id, user_id)`` in ``recipients``; returns the raw message id."""
    users = list(dict.fromkeys(recipients))
    if not users:
        raise ValueError("a message is stored for at least one recipient")
    blob_hash = blobs.put(raw)
    now = utcnow()
    raw_message_id = new_id()
    message = {
        "id": raw_message_id,
        "blob_hash": blob_hash,
        "size": len(raw),
        "received_at": now,
        "source": source,
        "envelope_from": _clip(envelope_from, 320),
        "client_address": _clip(client_address, 64),
        "mailbox_id": mailbox_id,
    }
    deliveries = [
        {
            "id": new_id(),
            "raw_message_id": raw_message_id,
            "org_id": org_id,
            "user_id": user_id,
            "status": PENDING,
            "attempts": 0,
            "duplicate": False,
            "created_at": now,
        }
        for org_id, user_id in users
    ]
    rows = [(RawMessage.__table__, [message]), (Delivery.__table__, deliveries)]
    # On PostgreSQL the message and its deliveries are one INSERT, atomic on its own: sent outside
    # a transaction it is committed (durably) when it returns, in one round trip, not four.
    if is_one_statement(engine, rows, []):
        with DatabaseAccess(engine, None).connect() as connection:
            insert_with_events(connection, rows, [])
    else:
        with engine.begin() as connection:
            insert_with_events(connection, rows, [])
    return raw_message_id


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]
