"""Tables owned by the notifier service.

Every row carries ``org_id``. A notification belongs to one user, its recipient;
ids are time-ordered, so "newest first" is "highest id first". Unread
notifications have their own partial index: the unread count and the unread
list are read far more often than they change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.events import define_parked_table
from crm.inbox import define_inbox_table
from crm.outbox import define_outbox_table
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_UNREAD = text("read_at IS NULL")


class Notification(Base):
    """Something a user should know about, with where to look and what they can do."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    # The recipient: the only user who ever sees this notification.
    user_id: Mapped[str] = mapped_column(String(36))
    # invitation, added, accepted, refused or removed
    kind: Mapped[str] = mapped_column(String(20))
    interaction_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The participant the notification is about (the one who accepted, refused...).
    participant_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The user whose act caused the notification.
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # [{"name": "accept", "method": "POST", "href": "/api/v1/..."}, ...]
    actions: Mapped[list] = mapped_column(JSON, default=list)
    source_event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_notifications_org_id_user_id_id", "org_id", "user_id", "id"),
        Index(
            "ix_notifications_unread",
            "org_id",
            "user_id",
            "id",
            sqlite_where=_UNREAD,
            postgresql_where=_UNREAD,
        ),
    )


class DeliveryPreference(Base):
    """How a user wants to be told. In-app is always on; no row means the defaults."""

    __tablename__ = "delivery_preferences"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Also send each notification by e-mail (announced with ``notification_created``).
    email_copy: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


outbox = define_outbox_table(Base.metadata)
processed_events = define_inbox_table(Base.metadata)
parked_events = define_parked_table(Base.metadata)
