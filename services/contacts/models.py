"""Tables owned by the contacts service.

Every row carries ``org_id``. Companies, contacts, employments and interests are
deleted softly (``deleted_at``) so that sync can report deletions. Phones are
kept as typed and as E.164; ``search_text`` is the folded text a search matches.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.database import NAMING_CONVENTION
from crm.outbox import define_outbox_table
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Partial indexes hold only the records that are not deleted (SQLite and PostgreSQL alike).
_LIVE = text("deleted_at IS NULL")
_LIVE_WITH_EMAIL = text("deleted_at IS NULL AND email IS NOT NULL")
_LIVE_WITH_POSITION = text("deleted_at IS NULL AND latitude IS NOT NULL")


def _position_index(table: str) -> Index:
    """Serves the bounding box a nearest-first list starts from (``nearby.py``): a latitude range
    read from the index, the longitude checked there too."""
    return Index(
        f"ix_{table}_org_id_latitude_longitude",
        "org_id",
        "latitude",
        "longitude",
        sqlite_where=_LIVE_WITH_POSITION,
        postgresql_where=_LIVE_WITH_POSITION,
    )


class Company(Base):
    """One site of a business; sites of one business share a ``group_name``."""

    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    group_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_postal_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    address_city: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_country: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The address's position (WGS84 degrees) and where it came from: typed, phone_gps or import.
    # Both or neither; no geocoding fills them.
    latitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    position_source: Mapped[str | None] = mapped_column(String(10), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    website: Mapped[str | None] = mapped_column(String(500), nullable=True)
    social: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_companies_org_id_name_id", "org_id", "name", "id"),
        Index("ix_companies_org_id_updated_at", "org_id", "updated_at"),
        _position_index("companies"),
    )


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    first_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(50), nullable=True)
    mobile_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Lower-cased; at most one contact that is not deleted per address and org.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    address_street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_postal_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    address_city: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_country: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The address's position (WGS84 degrees) and where it came from: typed, phone_gps or import.
    # Both or neither; no geocoding fills them.
    latitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    position_source: Mapped[str | None] = mapped_column(String(10), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)
    website: Mapped[str | None] = mapped_column(String(500), nullable=True)
    social: Mapped[dict] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        # The usual order sorts a missing last name as "" (pages.py): the index holds that expression.
        Index("ix_contacts_org_id_sort_last_name_id", "org_id", text("coalesce(last_name, '')"), "id"),
        Index("ix_contacts_org_id_updated_at", "org_id", "updated_at"),
        _position_index("contacts"),
        Index(
            "uq_contacts_org_id_email",
            "org_id",
            "email",
            unique=True,
            sqlite_where=_LIVE_WITH_EMAIL,
            postgresql_where=_LIVE_WITH_EMAIL,
        ),
    )


class Employment(Base):
    """A contact at a company, with function, professional phones and e-mail, dates."""

    __tablename__ = "employments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    function: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(50), nullable=True)
    mobile_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Null, or today or later: the employment is current.
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    # A mail from a professional address finds its contact (mail ingestion, references.py).
    __table_args__ = (Index("ix_employments_org_id_email", "org_id", "email"),)


class Interest(Base):
    """An entry of the organisation's own list of interests ("Comptable", "Libre")."""

    __tablename__ = "interests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Case-folded name: unique per org among interests that are not deleted. Folding can make
    # a name longer (ß is ss), up to three times.
    name_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index(
            "uq_interests_org_id_name_key",
            "org_id",
            "name_key",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )


class ContactInterest(Base):
    __tablename__ = "contact_interests"

    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    interest_id: Mapped[str] = mapped_column(ForeignKey("interests.id"), primary_key=True, index=True)
    org_id: Mapped[str] = mapped_column(String(36))


class ImportJob(Base):
    """A CSV import: the uploaded file, how it is read, and its progress.

    ``content`` holds the file compressed (zlib) until the job ends, then is
    cleared. ``runner_id`` and ``heartbeat_at`` form a lease: a job whose runner
    stopped beating is taken over and resumes after ``rows_done``.
    """

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(36))
    file_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: read by the runner only, never by progress polls.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    # queued, running, done or failed
    status: Mapped[str] = mapped_column(String(10))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    # [[header as in the file, field or null], ...] in file order
    columns: Mapped[list] = mapped_column(JSON)
    total_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    companies_created: Mapped[int] = mapped_column(Integer, default=0)
    interests_created: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    runner_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_import_jobs_org_id_created_at_id", "org_id", "created_at", "id"),)


class ImportRowError(Base):
    """Why a row of an import was not imported: its row (header = 1), line, column and reason."""

    __tablename__ = "import_row_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("import_jobs.id"))
    org_id: Mapped[str] = mapped_column(String(36))
    row: Mapped[int] = mapped_column(Integer)
    line: Mapped[int] = mapped_column(Integer)
    # The header as written in the file; null when the reason concerns the whole row.
    column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    field: Mapped[str | None] = mapped_column(String(50), nullable=True)
    value: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_import_row_errors_job_id_id", "job_id", "id"),)


outbox = define_outbox_table(Base.metadata)
