"""Tables owned by the messaging service.

Credits are a ledger: every purchase, debit and refund is a row and the balance
is their sum. ``credit_accounts`` holds that sum per organisation as well, as the
row a debit updates conditionally, so that concurrent sends cannot overdraw.
Provider events are stored as they arrive (deduplicated by the provider's event
id) and applied to their message afterwards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.outbox import define_outbox_table
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _where(condition: str) -> dict:
    """A partial index on both SQLite and PostgreSQL."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class CreditAccount(Base):
    """The running sum of an organisation's ledger; the row a debit locks."""

    __tablename__ = "credit_accounts"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditEntry(Base):
    """One movement of credits: purchase (+), debit (-) for an SMS, refund (+) of a failed SMS."""

    __tablename__ = "credit_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    credits: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sms_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_credit_entries_org_id_created_at_id", "org_id", "created_at", "id"),
        # A purchase reference is used once per organisation; an SMS is refunded at most once.
        Index(
            "uq_credit_entries_purchase_reference",
            "org_id",
            "reference",
            unique=True,
            **_where("kind = 'purchase'"),
        ),
        Index("uq_credit_entries_refund_sms_id", "sms_id", unique=True, **_where("kind = 'refund'")),
        # What an SMS holds (a refund, once, may be followed by a charge again, once).
        Index("ix_credit_entries_sms_id", "sms_id", **_where("sms_id IS NOT NULL")),
    )


class AuthorizationCode(Base):
    """What a user must give to send SMS; only its hash is kept."""

    __tablename__ = "authorization_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    monthly_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Credits used in cap_month ("2026-11"); a send in a later month starts again from 0.
    cap_month: Mapped[str | None] = mapped_column(String(7), nullable=True)
    used_in_month: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_authorization_codes_org_id_user_id", "org_id", "user_id"),)


class SmsMessage(Base):
    __tablename__ = "sms_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    authorization_code_id: Mapped[str] = mapped_column(String(36))
    to_number: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(10))
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    status_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(
            "uq_sms_messages_idempotency_key",
            "org_id",
            "user_id",
            "idempotency_key",
            unique=True,
            **_where("idempotency_key IS NOT NULL"),
        ),
        Index("ix_sms_messages_org_id_created_at", "org_id", "created_at"),
        # The few messages a send still holds: what the check for interrupted sends reads.
        Index("ix_sms_messages_sending", "status_at", **_where("status = 'sending'")),
        # What the business figures count by, read from the index alone (metrics.py).
        Index("ix_sms_messages_provider_status", "provider", "status"),
    )


class EmailMessage(Base):
    """One e-mail to one recipient, with when each tracking milestone was first seen."""

    __tablename__ = "email_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    to_email: Mapped[str] = mapped_column(String(254))
    to_domain: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sender_email: Mapped[str] = mapped_column(String(254))
    sender_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reply_to: Mapped[str | None] = mapped_column(String(254), nullable=True)
    subject: Mapped[str] = mapped_column(String(998))
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20))
    status_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    bounced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    complained_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index(
            "uq_email_messages_idempotency_key",
            "org_id",
            "user_id",
            "idempotency_key",
            unique=True,
            **_where("idempotency_key IS NOT NULL"),
        ),
        Index("ix_email_messages_sending", "status_at", **_where("status = 'sending'")),
        Index("ix_email_messages_org_id_created_at", "org_id", "created_at"),
        # What the business figures count by, read from the index alone (metrics.py).
        Index("ix_email_messages_to_domain_status_provider", "to_domain", "status", "provider"),
    )


class EmailSettings(Base):
    """Which provider sends an organisation's e-mail, its fallback, and the sender."""

    __tablename__ = "email_settings"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    fallback_provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sender_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    sender_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Suppression(Base):
    """An address later sends refuse: it bounced hard or complained."""

    __tablename__ = "suppressions"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProviderEvent(Base):
    """A delivery or tracking event as a provider sent it, once per provider event id.

    ``outcome`` is empty until the event is applied: ``applied``, ``older`` (would not move
    its message forward, so only joined the timeline) or ``unknown_message`` (kept for
    inspection). ``stale`` is set when it is stored (a Mailjet event stamped outside the
    webhook window): it is never applied.
    """

    __tablename__ = "provider_events"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider_event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    org_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    bounce_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(254), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    raw: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (
        Index("ix_provider_events_pending", "received_at", **_where("outcome IS NULL")),
        Index("ix_provider_events_message_id_occurred_at", "message_id", "occurred_at"),
    )


outbox = define_outbox_table(Base.metadata)
