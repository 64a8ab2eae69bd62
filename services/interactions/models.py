"""Tables owned by the interactions service.

Every row carries ``org_id``. Interactions and projects are archived
(``deleted_at``) when deleted, so that they can be restored and sync can report
them; an admin's purge deletes their rows. Participants copy their interaction's start
so that a user's agenda is one index range scan, owned or participated alike.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Double,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.events import define_parked_table
from crm.inbox import define_inbox_table
from crm.outbox import define_outbox_table
from crm.times import UtcDateTime, aware

# An interaction running longer than this is found by the agenda through ``long_until``
# (a shorter one by its start, which lies at most this long before the range).
LONG_RUNNING = timedelta(days=7)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InteractionType(Base):
    """An org's kind of interaction and its statuses (seeded with defaults, admin-configurable)."""

    __tablename__ = "interaction_types"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # [{"key": "to_pay", "name": "To pay", "closed": false}, ...] in lifecycle order
    statuses: Mapped[list] = mapped_column(JSON)
    invoice: Mapped[str | None] = mapped_column(String(10), nullable=True)  # "purchase" | "sales"
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Metres: a check-in on an interaction of this type must be this close to the client; null: any.
    checkin_radius_m: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(500))
    type_key: Mapped[str] = mapped_column(String(50))
    status_key: Mapped[str] = mapped_column(String(50))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    budget_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Its end when it runs longer than LONG_RUNNING, else null; kept by ``_mark_long_running``.
    long_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_interactions_org_id_owner_id_start_at", "org_id", "owner_id", "start_at"),
        Index(
            "ix_interactions_org_id_long_until",
            "org_id",
            "long_until",
            sqlite_where=text("long_until IS NOT NULL"),
            postgresql_where=text("long_until IS NOT NULL"),
        ),
        Index("ix_interactions_org_id_start_at", "org_id", "start_at"),
        Index("ix_interactions_org_id_type_key_status_key", "org_id", "type_key", "status_key"),
        Index("ix_interactions_project_id", "project_id"),
    )


@event.listens_for(Interaction, "before_insert")
@event.listens_for(Interaction, "before_update")
def _mark_long_running(mapper: Any, connection: Any, interaction: Interaction) -> None:
    interaction.long_until = long_until(interaction.start_at, interaction.end_at)


def long_until(start_at: datetime, end_at: datetime | None) -> datetime | None:
    """``Interaction.long_until`` for these times (an insert without the ORM sets it itself)."""
    runs_long = end_at is not None and aware(end_at) - aware(start_at) > LONG_RUNNING
    return end_at if runs_long else None


class InteractionLink(Base):
    """An interaction's contact or company (ids of the contacts service)."""

    __tablename__ = "interaction_links"

    interaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "contact" | "company"
    target_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (Index("ix_interaction_links_org_id_kind_target_id", "org_id", "kind", "target_id"),)


class Participant(Base):
    __tablename__ = "participants"

    interaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10))  # invited | confirmed | refused
    invited_by: Mapped[str] = mapped_column(String(36))
    invited_at: Mapped[datetime] = mapped_column(UtcDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # A copy of the interaction's start: the agenda reads participations by user and time.
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_participants_org_id_user_id_start_at", "org_id", "user_id", "start_at"),)


class Resource(Base):
    """A room, vehicle or hotel room that interactions book."""

    __tablename__ = "resources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_resources_org_id_name", "org_id", "name"),)


class Booking(Base):
    """A resource booked for an interaction's time."""

    __tablename__ = "bookings"

    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    interaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    booked_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_bookings_resource_id_start_at", "resource_id", "start_at"),
        Index("ix_bookings_interaction_id", "interaction_id"),
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_projects_org_id_name", "org_id", "name"),)


class ProjectLink(Base):
    """A project's user, contact or company."""

    __tablename__ = "project_links"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "user" | "contact" | "company"
    target_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (Index("ix_project_links_org_id_kind_target_id", "org_id", "kind", "target_id"),)


class Template(Base):
    """A shortcut: a subject with tags and defaults, run to create an interaction."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    type_key: Mapped[str] = mapped_column(String(50))
    status_key: Mapped[str | None] = mapped_column(String(50), nullable=True)
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    budget_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    counter: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_templates_org_id_name", "org_id", "name"),)


class RunningTimer(Base):
    """The one timer a user may have running."""

    __tablename__ = "running_timers"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TimeEntry(Base):
    """Time spent on an interaction, costed at the user's hourly rate when the timer stopped."""

    __tablename__ = "time_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seconds: Mapped[int] = mapped_column(Integer)
    rate_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    rate_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_time_entries_interaction_id", "interaction_id"),
        Index("ix_time_entries_org_id_user_id_started_at", "org_id", "user_id", "started_at"),
        Index("ix_time_entries_project_id", "project_id"),
    )


class Note(Base):
    """A timestamped note: appended, never rewritten."""

    __tablename__ = "notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str] = mapped_column(String(36))
    author_id: Mapped[str] = mapped_column(String(36))
    # "Alice Martin, 22/11/2026 17:05 (Europe/Paris)": rendered once, in the author's time zone.
    stamp: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_notes_interaction_id_written_at", "interaction_id", "written_at"),)


class Document(Base):
    """A file in the blob store (by content hash) or a link to an online document."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))
    document_type: Mapped[str] = mapped_column(String(50))
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    blob_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_documents_interaction_id", "interaction_id"),)


class CheckIn(Base):
    """A visit of a user to an interaction's client: opened by a check-in where the phone was,
    closed by a check-out. The place measured from (the first linked company, else contact, with a
    position) is copied with its distance, so later moves of the client leave the visit as it was."""

    __tablename__ = "check_ins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    # Where the phone was (WGS84 degrees) and how sure it was of it (metres).
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    accuracy_m: Mapped[float] = mapped_column(Double)
    # The place measured from ("company" | "contact"), null when none had a position.
    place_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    place_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    place_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    distance_m: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The type's radius when the user checked in (null: none required).
    radius_m: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_check_ins_interaction_id_checked_in_at", "interaction_id", "checked_in_at"),
        # One open visit per user and interaction, even for two check-ins at once.
        Index(
            "ix_check_ins_open_interaction_id_user_id",
            "interaction_id",
            "user_id",
            unique=True,
            sqlite_where=text("checked_out_at IS NULL"),
            postgresql_where=text("checked_out_at IS NULL"),
        ),
    )


outbox = define_outbox_table(Base.metadata)
inbox = define_inbox_table(Base.metadata)
parked_events = define_parked_table(Base.metadata)
