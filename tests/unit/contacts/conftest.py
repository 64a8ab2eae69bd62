"""Single contacts workers over a real, migrated database.

SQLite by default: the schema is migrated once into a template file and each
test gets a fresh copy. With TEST_DATABASE_URL (PostgreSQL), the ``contacts``
schema is migrated once per run and emptied before each test.

Callers carry access tokens signed with a key made for the run, and workers
verify them with a ``TokenVerifier`` built on its public half, as they would
with the keys ``accounts`` publishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory

from crm.auth import CallerAccess
from crm.migrations import upgrade
from crm.settings import Settings
from services.contacts.models import Base
from services.contacts.service import ContactsService
from tests.people import Person
from tests.unit.service_workers import ServiceWorkers, fresh_workers

TABLES = (
    "contact_interests",
    "employments",
    "contacts",
    "companies",
    "interests",
    "outbox",
    "import_row_errors",
    "import_jobs",
)
# What "writes nothing" compares: the CRM's records, not the import jobs' own bookkeeping.
DATA_TABLES = tuple(name for name in TABLES if not name.startswith("import_"))


def _sqlite_settings(folder: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(folder), "database": {"url": f"sqlite:///{folder}/{{service}}.db"}}
    )


class ContactsWorkers(ServiceWorkers):
    """Builds contacts workers with real collaborators, as one caller or another."""

    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey):
        super().__init__(settings, signing_key, "contacts", Base.metadata)

    def worker(self, access_token: str | None = None) -> ContactsService:
        return worker_factory(
            ContactsService,
            db=self.db,
            caller=CallerAccess(self.verifier, {"access_token": access_token}),
            config={"CRM": self.settings},
        )

    def as_user(self, person: Person) -> ContactsService:
        return self.worker(self.access_token(person))

    def footprint(self, names: tuple[str, ...] | None = None) -> dict[str, int]:
        """The CRM's records, not the import jobs' own bookkeeping."""
        return super().footprint(names or DATA_TABLES)

    def empty(self, names: tuple[str, ...] | None = None) -> None:
        super().empty(names or TABLES)


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("contacts-template")
    upgrade(_sqlite_settings(folder), "contacts")
    return folder


@pytest.fixture
def contacts(request, tmp_path, signing_key) -> Iterator[ContactsWorkers]:
    """Workers over an empty, migrated contacts database of this test's own."""
    yield from fresh_workers(
        request,
        tmp_path,
        "contacts",
        "sqlite_template",
        lambda migrated: ContactsWorkers(migrated or _sqlite_settings(tmp_path), signing_key),
    )
