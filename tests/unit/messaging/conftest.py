"""Single messaging workers over a real, migrated database and the real provider sandbox.

SQLite by default (a fresh copy of a migrated template per test); with
TEST_DATABASE_URL the ``messaging`` schema is emptied before each test. The
provider clients are the real SDK adapters, pointed at a ProviderSandbox
served on a free port. ``accounts`` lies outside the service under test: its
``get_user`` is a stand-in that knows the users of these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory

from crm.auth import CallerAccess
from crm.migrations import upgrade
from crm.settings import Settings
from emulations.server import ProviderSandbox
from services.accounts.exceptions import UserNotFound
from services.messaging.dependencies import build_clients
from services.messaging.models import Base
from services.messaging.service import MessagingService
from tests.people import ALICE, BOB, CLAIRE, DIANE, Person
from tests.unit.service_workers import ServiceWorkers, fresh_workers

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


class MessagingWorkers(ServiceWorkers):
    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey, sandbox: ProviderSandbox):
        super().__init__(settings, signing_key, "messaging", Base.metadata)
        self.sandbox = sandbox
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

    def apply_events(self) -> None:
        self.system().apply_provider_events()


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
    def build(migrated: Settings | None) -> MessagingWorkers:
        settings = _settings(tmp_path, migrated.database.url) if migrated else _settings(tmp_path)
        return MessagingWorkers(settings, messaging_signing_key, provider_sandbox)

    yield from fresh_workers(request, tmp_path, "messaging", "messaging_template", build)
