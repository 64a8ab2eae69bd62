"""Single messaging workers over a real, migrated database and the real provider sandbox.

SQLite by default (a fresh copy of a migrated template per test); with
TEST_DATABASE_URL the ``messaging`` schema is emptied before each test. The
provider clients are the real SDK adapters, pointed at a ProviderSandbox
served on a free port. ``accounts`` lies outside the service under test: its
``get_user`` is a stand-in that knows the users of these tests.
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
from services.accounts.exceptions import UserNotFound
from services.messaging.dependencies import build_clients
from services.messaging.models import Base, outbox
from services.messaging.sandbox import ProviderSandbox
from services.messaging.service import MessagingService
from tests.unit.contacts.people import ALICE, BOB, CLAIRE, DIANE, KID, Person

TABLES = (
    "credit_accounts",
    "credit_entries",
    "authorization_codes",
    "sms_messages",
    "email_messages",
    "email_settings",
    "suppressions",
    "provider_events",
    "outbox",
)
PEOPLE = (ALICE, BOB, CLAIRE, DIANE)


def _settings(folder: Path, url: str | None = None) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(folder),
            "database": {"url": url or f"sqlite:///{folder}/{{service}}.db"},
            "messaging": {"sandbox": False},
        }
    )


class Directory:
    """Stands in for ``accounts.get_user``: users of the caller's organisation only."""

    def __init__(self, caller_org: str):
        self.caller_org = caller_org

    def get_user(self, user_id: str) -> dict[str, Any]:
        for person in PEOPLE:
            if person.user_id == user_id and person.org_id == self.caller_org:
                return {"id": user_id}
        raise UserNotFound(f"no user {user_id}")


class MessagingWorkers:
    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey, sandbox: ProviderSandbox):
        self.settings = settings
        self.signing_key = signing_key
        self.sandbox = sandbox
        self.engine = create_service_engine(settings, "messaging")
        self.db = DatabaseAccess(self.engine, relay=None)
        self.verifier = TokenVerifier(lambda: {KID: signing_key.public_key()}, settings.auth.issuer)
        self.providers = build_clients(settings, sandbox.base_url)

    def as_user(self, person: Person) -> MessagingService:
        return worker_factory(
            MessagingService,
            db=self.db,
            caller=CallerAccess(self.verifier, {"access_token": self.access_token(person)}),
            providers=self.providers,
            accounts=Directory(person.org_id),
            config={"CRM": self.settings},
        )

    def system(self) -> MessagingService:
        """A worker with no caller: what the gateway's webhooks and the timer run as."""
        return worker_factory(
            MessagingService, db=self.db, providers=self.providers, config={"CRM": self.settings}
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

    def count(self, table_name: str, *where: Any) -> int:
        table = Base.metadata.tables[table_name]
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where))

    def footprint(self) -> dict[str, int]:
        """How many rows each table holds: a refused call must leave it as it was."""
        return {name: self.count(name) for name in TABLES}

    def events(self, event_type: str) -> list[dict[str, Any]]:
        query = (
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.created_at)
        )
        with self.db.read() as session:
            return [row.payload for row in session.execute(query)]

    def apply_events(self) -> None:
        self.system().apply_provider_events()

    def empty(self) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(text(f"TRUNCATE {', '.join(TABLES)}"))

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def messaging_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def messaging_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("messaging-template")
    upgrade(_settings(folder), "messaging")
    return folder


@pytest.fixture
def provider_sandbox() -> Iterator[ProviderSandbox]:
    """The emulation, without callbacks (tests hand events to the service themselves)."""
    sandbox = ProviderSandbox(deliver_callbacks=False)
    sandbox.serve("127.0.0.1", 0)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def messaging(request, tmp_path, messaging_signing_key, provider_sandbox) -> Iterator[MessagingWorkers]:
    if os.environ.get("TEST_DATABASE_URL"):
        migrated: Settings = request.getfixturevalue("migrated")
        settings = _settings(tmp_path, migrated.database.url)
        workers = MessagingWorkers(settings, messaging_signing_key, provider_sandbox)
        workers.empty()
    else:
        for source in request.getfixturevalue("messaging_template").glob("messaging.db*"):
            shutil.copy(source, tmp_path / source.name)
        workers = MessagingWorkers(_settings(tmp_path), messaging_signing_key, provider_sandbox)
    yield workers
    workers.close()
