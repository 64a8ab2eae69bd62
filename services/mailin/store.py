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

It is made of two halves the SMTP listener calls apart, so that messages whose
DATA ended at about the same time share one transaction and its COMMIT (group
commit, ``smtp/group_commit.py``): ``put_blob`` (bytes written and fsynced) and
``commit_rows`` (the rows of one or more messages, committed together).

It blocks (a disk write and a database commit): call it from a worker or a
thread, never from the listener's event loop directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

from crm.blobs import BlobStore
from crm.database import DatabaseAccess
from crm.ids import new_id
from crm.outbox import insert_with_events, is_one_statement
from crm.times import utcnow
from services.mailin.models import PENDING, Delivery, RawMessage

Source = Literal["smtp", "imap"]


@dataclass(frozen=True)
class BlobStored:
    """A message whose bytes are durably in the blob store, its rows not written yet."""

    raw_message_id: str
    blob_hash: str
    size: int
    users: list[tuple[str, str]]
    source: Source
    envelope_from: str | None
    client_address: str | None
    mailbox_id: str | None


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
    stored = put_blob(
        blobs,
        raw,
        recipients,
        source=source,
        envelope_from=envelope_from,
        client_address=client_address,
        mailbox_id=mailbox_id,
    )
    commit_rows(engine, [stored])
    return stored.raw_message_id


def put_blob(
    blobs: BlobStore,
    raw: bytes,
    recipients: Iterable[tuple[str, str]],
    *,
    source: Source,
    envelope_from: str | None = None,
    client_address: str | None = None,
    mailbox_id: str | None = None,
) -> BlobStored:
    """The first half of ``store_message``: the bytes written and fsynced, the message's id made."""
    users = list(dict.fromkeys(recipients))
    if not users:
        raise ValueError("a message is stored for at least one recipient")
    return BlobStored(
        raw_message_id=new_id(),
        blob_hash=blobs.put(raw),
        size=len(raw),
        users=users,
        source=source,
        envelope_from=_clip(envelope_from, 320),
        client_address=_clip(client_address, 64),
        mailbox_id=mailbox_id,
    )


def commit_rows(engine: Engine, messages: list[BlobStored]) -> None:
    """The second half: the messages' rows and their pending deliveries, committed together
    (durably) when it returns, or none of them if it raises. ``received_at`` is now, just before
    the commit."""
    now = utcnow()
    stored = [
        {
            "id": message.raw_message_id,
            "blob_hash": message.blob_hash,
            "size": message.size,
            "received_at": now,
            "source": message.source,
            "envelope_from": message.envelope_from,
            "client_address": message.client_address,
            "mailbox_id": message.mailbox_id,
        }
        for message in messages
    ]
    deliveries = [
        {
            "id": new_id(),
            "raw_message_id": message.raw_message_id,
            "org_id": org_id,
            "user_id": user_id,
            "status": PENDING,
            "attempts": 0,
            "duplicate": False,
            "created_at": now,
        }
        for message in messages
        for org_id, user_id in message.users
    ]
    rows = [(RawMessage.__table__, stored), (Delivery.__table__, deliveries)]
    # On PostgreSQL one message and its deliveries are one INSERT, atomic on its own: sent outside
    # a transaction it is committed (durably) when it returns, in one round trip, not four.
    if len(messages) == 1 and is_one_statement(engine, rows, []):
        with DatabaseAccess(engine, None).connect() as connection:
            insert_with_events(connection, rows, [])
        return
    # Several: a multi-row INSERT built with its rows in it is compiled again at each execution
    # (SQLAlchemy does not cache it), which cost more than the round trips saved; an executemany
    # of each table's one-row INSERT is compiled once and sent as one multi-row INSERT per table.
    with engine.begin() as connection:
        for table, table_rows in rows:
            connection.execute(table.insert(), table_rows)


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]
