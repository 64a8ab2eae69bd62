"""Single notifier workers over a real, migrated database.

SQLite by default: the schema is migrated once into a template file and each
test gets a fresh copy. With TEST_DATABASE_URL (PostgreSQL), the ``notifier``
schema is dropped and migrated once per run (``fresh_notifier_schema``) and
emptied before each test. Callers carry access tokens signed with a key made
for the run, verified as workers verify the keys ``accounts`` publishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory
from sqlalchemy import func, select, text

from crm.auth import CallerAccess, TokenVerifier
from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from services.notifier.models import Base, outbox
from services.notifier.service import NotifierService
from tests.people import KID, Person
from tests.unit.notifier.harness import access_token, fresh_notifier_schema
from tests.unit.service_workers import fresh_workers

TABLES = ("notifications", "delivery_preferences", "outbox", "processed_events")


def _sqlite_settings(folder: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(folder), "database": {"url": f"sqlite:///{folder}/{{service}}.db"}}
    )


class NotifierWorkers:
    """Builds notifier workers with real collaborators, as one caller or as the event consumer."""

    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey):
        self.settings = settings
        self.signing_key = signing_key
        self.engine = create_service_engine(settings, "notifier")
        self.db = DatabaseAccess(self.engine, relay=None)
        self.verifier = TokenVerifier(lambda: {KID: signing_key.public_key()}, settings.auth.issuer)

    def worker(self, token: str | None = None) -> NotifierService:
        return worker_factory(
            NotifierService, db=self.db, caller=CallerAccess(self.verifier, {"access_token": token})
        )

    def as_user(self, person: Person) -> NotifierService:
        return self.worker(access_token(self.settings, self.signing_key, person))

    def consumer(self) -> NotifierService:
        """What an event handler runs as: no caller."""
        return self.worker()

    def count(self, table_name: str, *where: Any) -> int:
        table = Base.metadata.tables[table_name]
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where))

    def events(self, event_type: str) -> list[dict[str, Any]]:
        query = (
            select(outbox.c.payload)
            .where(outbox.c.event_type == event_type)
            .order_by(outbox.c.created_at, outbox.c.id)
        )
        with self.db.read() as session:
            return [row.payload for row in session.execute(query)]

    def empty(self) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(text(f"TRUNCATE {', '.join(TABLES)}"))

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def notifier_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def notifier_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notifier-template")
    upgrade(_sqlite_settings(folder), "notifier")
    return folder


@pytest.fixture(scope="session")
def notifier_postgresql(settings) -> Settings:
    """The ``notifier`` schema, dropped and migrated once per run."""
    fresh_notifier_schema(settings)
    return settings


@pytest.fixture
def notifier(request, tmp_path, notifier_signing_key) -> Iterator[NotifierWorkers]:
    """Workers over an empty, migrated notifier database of this test's own."""
    yield from fresh_workers(
        request,
        tmp_path,
        "notifier",
        "notifier_template",
        lambda migrated: NotifierWorkers(migrated or _sqlite_settings(tmp_path), notifier_signing_key),
        postgresql_fixture="notifier_postgresql",
    )
