"""Tables of the Google Contacts sync, in the sync service's database (its ``Base``).

``google_connections``: one per user, the encrypted Google refresh token and the
encrypted CRM API token the job acts with, where each direction got to (Google's
sync token; the change sequence of sync's replica), and what went wrong last.
``google_links``: a CRM contact and the Google person it is synced with, with the
Google etag last seen and the contact as both sides last agreed (a change on
either side is a view that differs from it). ``google_runs``: each run
of the job, its progress and where to resume. ``google_run_log``: per contact,
what a run changed or why it skipped it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.times import UtcDateTime
from services.sync.models import Base


class GoogleConnection(Base):
    __tablename__ = "google_connections"
    __table_args__ = (Index("ix_google_connections_next_run_at", "next_run_at"),)

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    # authorizing (waiting for Google's callback) or connected
    status: Mapped[str] = mapped_column(String(12))
    # sha256 of the OAuth state while authorizing; the state is good until state_expires_at.
    state_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    state_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # Fernet
    crm_token: Mapped[str] = mapped_column(Text)  # Fernet: the CRM API token the job acts with
    crm_token_id: Mapped[str] = mapped_column(String(36))
    group_name: Mapped[str] = mapped_column(String(200))
    group_resource_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sync_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    crm_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # google_access_revoked, crm_access_revoked, google_unavailable, people_api_error, sync_failed
    last_error_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GoogleLink(Base):
    __tablename__ = "google_links"
    __table_args__ = (
        Index("uq_google_links_user_id_resource_name", "user_id", "resource_name", unique=True),
    )

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    resource_name: Mapped[str] = mapped_column(String(100))
    etag: Mapped[str] = mapped_column(String(100))
    # The contact as both sides last agreed (mapping.SharedView as JSON).
    agreed: Mapped[str] = mapped_column(Text)
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GoogleRun(Base):
    __tablename__ = "google_runs"
    __table_args__ = (Index("ix_google_runs_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    # queued, running, done or failed
    status: Mapped[str] = mapped_column(String(10))
    # connect, manual or schedule
    trigger: Mapped[str] = mapped_column(String(10))
    # from_google, to_google, done
    phase: Mapped[str] = mapped_column(String(12))
    google_total: Mapped[int] = mapped_column(Integer, default=0)
    google_done: Mapped[int] = mapped_column(Integer, default=0)
    crm_total: Mapped[int] = mapped_column(Integer, default=0)
    crm_done: Mapped[int] = mapped_column(Integer, default=0)
    created_in_crm: Mapped[int] = mapped_column(Integer, default=0)
    updated_in_crm: Mapped[int] = mapped_column(Integer, default=0)
    created_in_google: Mapped[int] = mapped_column(Integer, default=0)
    updated_in_google: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    full_listing: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where a run taken over resumes: Google's page (from_google), the last contact done and the
    # replica sequence the CRM side goes up to (to_google).
    page_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    crm_after_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    crm_upto: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    runner_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class GoogleRunLog(Base):
    __tablename__ = "google_run_log"
    __table_args__ = (Index("ix_google_run_log_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36))
    org_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resource_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # to_crm, to_google
    direction: Mapped[str] = mapped_column(String(10))
    # created, updated, linked, unlinked, conflict, skipped
    action: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
