"""What notifier tests at every tier share: a fresh database, and callers' access tokens."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from crm.database import is_postgresql
from crm.migrations import upgrade
from crm.settings import Settings
from tests.people import Person
from tests.unit.service_workers import signed_access_token


def fresh_notifier_schema(settings: Settings) -> None:
    """Drop the ``notifier`` PostgreSQL schema if there is one, then migrate it to the head.

    Needed until tests/conftest.py lists ``notifier`` in MIGRATED_SERVICES; harmless after.
    """
    url = settings.database_url("notifier")
    if is_postgresql(url):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
        with engine.begin() as connection:
            connection.execute(text('DROP SCHEMA IF EXISTS "notifier" CASCADE'))
        engine.dispose()
    upgrade(settings, "notifier")


def access_token(settings: Settings, signing_key: Ed25519PrivateKey, person: Person) -> str:
    """An access token for ``person``, signed as ``accounts`` signs them (key id ``KID``)."""
    return signed_access_token(settings, signing_key, person)
