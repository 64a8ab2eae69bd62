"""Tables owned by the mailin service.

A received message is stored once (``raw_messages``: its bytes live in the blob
store under their hash) and delivered to each recipient user (``deliveries``,
one per user, pending until processed). ``ingested`` makes a message land once
per user whichever way it arrives (SMTP, IMAP, forwarded twice). The ingest
addresses are mailin's own copy of accounts' per-user secrets, kept from
accounts' events, so the SMTP listener answers ``RCPT`` from its own database.
``mailboxes`` are the IMAP inboxes users let the CRM read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.events import define_parked_table
from crm.inbox import define_inbox_table
from crm.outbox import define_outbox_table
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


PENDING = "pending"
PROCESSED = "processed"
_PENDING_ONLY = text("status = 'pending'")


class IngestAddress(Base):
    """A user's personal ingest address, as accounts last announced it."""

    __tablename__ = "ingest_addresses"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    # Lower-case; None until accounts has told us (a user_created seen before its address).
    local_part: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Newer wins, whatever order events and the start-up snapshot arrive in:
    # the address by when accounts last rotated it, the active flag by the user's version.
    address_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    user_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # SHA-256 of the user's SMTP password (``smtp_passwords.py``), None when they have none.
    smtp_password_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RawMessage(Base):
    """A message as received, stored once however many users it is for."""

    __tablename__ = "raw_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    blob_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # smtp or imap
    source: Mapped[str] = mapped_column(String(10))
    envelope_from: Mapped[str | None] = mapped_column(String(320), nullable=True)
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mailbox_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    # Mail ingested by source (metrics.py) is read from this index alone, not the whole table.
    __table_args__ = (Index("ix_raw_messages_source", "source"),)


class Delivery(Base):
    """One stored message for one user: pending until it became ``mail_received``."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    raw_message_id: Mapped[str] = mapped_column(String(36), index=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    # pending or processed
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # After a failed attempt, not tried again before this (backing off, never given up).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    message_key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # True when the user had already received this message: processed without an event.
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_deliveries_pending", "id", sqlite_where=_PENDING_ONLY, postgresql_where=_PENDING_ONLY),
        Index("ix_deliveries_org_id_user_id", "org_id", "user_id"),
    )


class Ingested(Base):
    """A message a user has received once (by Message-ID, or a key derived from its content)."""

    __tablename__ = "ingested"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Mailbox(Base):
    """An IMAP inbox a user lets the CRM read (``mailboxes.py``; checked by ``checks.py``)."""

    __tablename__ = "mailboxes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    # tls, starttls or none
    security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(320))
    # Encrypted with the key from configuration; never sent back.
    password_encrypted: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    # flag, move or leave
    after_import: Mapped[str] = mapped_column(String(10), default="flag")
    move_to: Mapped[str | None] = mapped_column(String(255), nullable=True)
    uid_validity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_uid: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # One of services.mailin.imap.errors.CODES, beside last_error's words.
    last_error_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    messages_imported: Mapped[int] = mapped_column(Integer, default=0)
    # Over mailin.imap_max_message_bytes: left on the server, counted, the last one named.
    messages_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_skipped: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set while a check runs (one at a time per mailbox); a stale one is taken over.
    checking_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_mailboxes_org_id_user_id", "org_id", "user_id"),)


outbox = define_outbox_table(Base.metadata)
processed_events = define_inbox_table(Base.metadata)
parked_events = define_parked_table(Base.metadata)
