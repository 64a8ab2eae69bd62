"""Probe services that exercise the shared plumbing against the real broker and database, and the
fixtures the mailin service tests share."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text

from crm.database import create_service_engine, is_postgresql
from crm.events import define_parked_table
from crm.inbox import define_inbox_table
from crm.outbox import define_outbox_table
from tests.mailin_listener import ListenerProcess, write_config

probe_metadata = MetaData()
notes = Table(
    "notes",
    probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", String(200), nullable=False),
)
define_outbox_table(probe_metadata)
define_inbox_table(probe_metadata)
define_parked_table(probe_metadata)


def create_probe_schema(settings, service: str) -> None:
    """A probe service's tables (no migrations: the probes exist only in tests)."""
    url = settings.database_url(service)
    if is_postgresql(url):
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{service}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{service}"'))
        admin.dispose()
    engine = create_service_engine(settings, service)
    probe_metadata.drop_all(engine)
    probe_metadata.create_all(engine)
    engine.dispose()


@pytest.fixture
def probe_settings(settings):
    for service in ("outbox_probe", "inbox_probe"):
        create_probe_schema(settings, service)
    return settings


@pytest.fixture
def engine(migrated):
    """mailin's database."""
    engine = create_service_engine(migrated, "mailin")
    yield engine
    engine.dispose()


@pytest.fixture
def sync_engine(migrated):
    """sync's database."""
    engine = create_service_engine(migrated, "sync")
    yield engine
    engine.dispose()


@pytest.fixture
def listener(migrated, tmp_path):
    """The SMTP ingest listener, a process of its own, on mailin's database."""
    path, settings = write_config(migrated, tmp_path)
    process = ListenerProcess(path, settings).start()
    yield process
    process.stop()
