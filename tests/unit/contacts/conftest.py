"""Single contacts workers over a real, migrated database.

SQLite by default: the schema is migrated once into a template file and each
test gets a fresh copy. With TEST_DATABASE_URL (PostgreSQL), the ``contacts``
schema is migrated once per run and emptied before each test.

Callers carry access tokens signed with a key made for the run, and workers
verify them with a ``TokenVerifier`` built on its public half, as they would
with the keys ``accounts`` publishes.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory
from sqlalchemy import func, select, text

from crm.auth import CallerAccess, TokenVerifier
from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from services.contacts.models import Base, outbox
from services.contacts.service import ContactsService
from tests.unit.contacts.people import KID, Person

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


class ContactsWorkers:
    """Builds contacts workers with real collaborators, as one caller or another."""

    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey):
        self.settings = settings
        self.signing_key = signing_key
        self.engine = create_service_engine(settings, "contacts")
        self.db = DatabaseAccess(self.engine, relay=None)
        self.verifier = TokenVerifier(lambda: {KID: signing_key.public_key()}, settings.auth.issuer)

    def worker(self, access_token: str | None = None) -> ContactsService:
        return worker_factory(
            ContactsService,
            db=self.db,
            caller=CallerAccess(self.verifier, {"access_token": access_token}),
            config={"CRM": self.settings},
        )

    def access_token(self, person: Person) -> str:
        now = int(time.time())
        claims = {
            "iss": self.settings.auth.issuer,
            "aud": "crm",
            "sub": person.user_id,
            "org": person.org_id,
            "role": person.role,
            "ro": person.read_only,
            "sid": f"session-{person.user_id}",
            "iat": now,
            "exp": now + 900,
        }
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers={"kid": KID})

    def as_user(self, person: Person) -> ContactsService:
        return self.worker(self.access_token(person))

    def count(self, table: Any, *where: Any) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where))

    def footprint(self) -> dict[str, int]:
        """How many rows each table holds: a rejected call must leave it as it was."""
        return {name: self.count(Base.metadata.tables[name]) for name in DATA_TABLES}

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox.c.payload).order_by(outbox.c.created_at, outbox.c.id)
        if event_type is not None:
            query = query.where(outbox.c.event_type == event_type)
        with self.db.read() as session:
            return [row.payload for row in session.execute(query)]

    def empty(self) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(text(f"TRUNCATE {', '.join(TABLES)}"))

    def close(self) -> None:
        self.engine.dispose()


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
    if os.environ.get("TEST_DATABASE_URL"):
        workers = ContactsWorkers(request.getfixturevalue("migrated"), signing_key)
        workers.empty()
    else:
        for source in request.getfixturevalue("sqlite_template").glob("contacts.db*"):
            shutil.copy(source, tmp_path / source.name)
        workers = ContactsWorkers(_sqlite_settings(tmp_path), signing_key)
    yield workers
    workers.close()
