"""Tables owned by the sync service.

``replica_records`` is sync's copy of every record a phone may carry, kept from
the owning services' events, each stamped with the change sequence (``seq``)
of its last change; ``change_counter`` hands out that sequence, one number at a
time, under a row lock, so sequence order is commit order. ``replica_links``,
``interaction_people``, ``project_people`` and ``touches`` are what the scope
of a user is computed from. ``scope_members`` remembers, per user, when each
record entered and left their scope, so a pull from any earlier point knows
what the phone holds. ``devices``, ``device_mutations`` and ``sync_alerts``
are the phones, what each pushed, and what was refused. ``address_cards`` are
the contacts of the CardDAV address book, stamped with the sequence too. ``calendar_tokens`` say
which user each calendar feed token (by its hash) opens, kept from accounts' events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.events import define_parked_table
from crm.inbox import define_inbox_table
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ChangeCounter(Base):
    """One row: the last change sequence handed out."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class ReplicaRecord(Base):
    """A record as the phone holds it (``raw``: WatermelonDB columns, JSON), with the sequence
    of its last change and the owner's version (older events never overwrite newer ones)."""

    __tablename__ = "replica_records"
    __table_args__ = (Index("ix_replica_records_org_seq", "org_id", "seq"),)

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean)
    raw: Mapped[str] = mapped_column(Text)


class ReplicaLink(Base):
    """``from`` brings ``to`` along: an interaction its contacts, companies, participants,
    notes and documents; a project its contacts and companies; a contact or a company its
    employments."""

    __tablename__ = "replica_links"
    # Who links to a record (a record arriving after its links makes their holders' scopes dirty).
    __table_args__ = (Index("ix_replica_links_to", "org_id", "to_table", "to_id"),)

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    from_table: Mapped[str] = mapped_column(String(30), primary_key=True)
    from_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    to_table: Mapped[str] = mapped_column(String(30), primary_key=True)
    to_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class InteractionPerson(Base):
    """The owner and every participant who has not refused, with the interaction's start."""

    __tablename__ = "interaction_people"
    __table_args__ = (Index("ix_interaction_people_user_start", "user_id", "start_at"),)

    interaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProjectPerson(Base):
    """A user linked to a project, with the project's creation time."""

    __tablename__ = "project_people"
    __table_args__ = (Index("ix_project_people_user", "user_id", "created_at"),)

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Touch(Base):
    """The last time a user viewed, created or changed a record on the web."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_user_at", "user_id", "touched_at"),
        Index("ix_touches_record", "table_name", "record_id"),
    )

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    touched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScopeMember(Base):
    """A record was in the user's scope from ``entered_seq`` until ``left_seq`` (excluded;
    null: still in it). A phone that pulled at T holds what was in at T."""

    __tablename__ = "scope_members"
    __table_args__ = (
        Index("ix_scope_members_user", "user_id", "left_seq"),
        # Who holds a record: a change of its links or its deletion makes their scopes dirty.
        Index("ix_scope_members_record", "org_id", "table_name", "record_id"),
    )

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    entered_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    left_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    org_id: Mapped[str] = mapped_column(String(36))


class ScopeState(Base):
    """Whether ``scope_members`` is still the user's scope: nothing that could change it
    happened after ``computed_seq`` (``dirty_seq``, stamped by the feed), and no record
    crosses a window's edge before ``valid_until``. Then a pull skips computing it."""

    __tablename__ = "scope_states"
    __table_args__ = (Index("ix_scope_states_org", "org_id"),)

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    computed_seq: Mapped[int] = mapped_column(BigInteger)
    dirty_seq: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)


class AddressCard(Base):
    """A contact as the CardDAV address book serves it (docs/carddav.md). ``seq`` is the change
    sequence of the last change of anything its card shows (the contact, its employments, their
    companies' names and addresses): a sync token is a sequence, and the cards changed since it
    are those stamped later. ``details`` holds what a card needs that the phone's columns lack
    (phones in E.164, social profiles) as JSON; ``vcard_3`` and ``vcard_4`` the card as last
    written in each version, forgotten at each change."""

    __tablename__ = "address_cards"
    __table_args__ = (Index("ix_address_cards_org_seq", "org_id", "seq"),)

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    vcard_3: Mapped[str | None] = mapped_column(Text, nullable=True)
    vcard_4: Mapped[str | None] = mapped_column(Text, nullable=True)


class Device(Base):
    """A phone that synced, as its app names it."""

    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_org", "org_id"),)

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    app_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_pulled_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_push_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pulls: Mapped[int] = mapped_column(BigInteger, default=0)
    pushes: Mapped[int] = mapped_column(BigInteger, default=0)


class DeviceMutation(Base):
    """A change a device pushed and what became of it: the same change pushed again (a retry
    after a lost answer) is answered from here and not applied twice."""

    __tablename__ = "device_mutations"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    change_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The record's version the owner answered: when the server's copy is still at it, the
    # server's latest change is this device's own and no conflict.
    result_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SyncAlert(Base):
    """A pushed change the server refused, for the phone's settings screen. ``seq`` makes the
    record go back to every phone of the user at their next pull, as the server holds it."""

    __tablename__ = "sync_alerts"
    __table_args__ = (Index("ix_sync_alerts_user_seq", "user_id", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(100))
    table_name: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(80))
    operation: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


define_inbox_table(Base.metadata)
parked_events = define_parked_table(Base.metadata)

# The Google Contacts sync's tables live beside its code, on this metadata.
from services.sync.google import models as google_models  # noqa: E402, F401


class CalendarToken(Base):
    """The hash (SHA-256, hex) of the token that opens a user's calendar feed, as accounts last
    announced it (``calendar_token_changed``); null while the user is deactivated. ``changed_at``
    then ``user_version`` order the announcements: an older one never overwrites a newer."""

    __tablename__ = "calendar_tokens"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_version: Mapped[int] = mapped_column(Integer)
