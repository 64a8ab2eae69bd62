"""Single accounts workers over a real, migrated SQLite database per test.

The organisations, users and signing key are made once per run by the
service's own code (``users.bootstrap`` as ``crm admin bootstrap`` calls it,
then ``create_user``), into a template database; each test gets a fresh copy
of that file, so no test pays for argon2 hashing it does not exercise.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.auth import CallerAccess, TokenVerifier
from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from crm.validation import validate
from services.accounts import login_sessions, signing_keys, users
from services.accounts.dependencies import _load_keys_from_database
from services.accounts.models import User, outbox
from services.accounts.schemas import Bootstrap
from services.accounts.service import AccountsService
from services.accounts.signing_keys import ActiveKey
from tests.unit.accounts.directory import (
    ALICE_PASSWORD,
    BOB_PASSWORD,
    CLAIRE_PASSWORD,
    DIANE_PASSWORD,
    EMILE_PASSWORD,
    Directory,
)


def _settings(folder: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(folder),
            "database": {"url": f"sqlite:///{folder}/{{service}}.db"},
            "auth": {"login_failures_per_account": 2, "login_failures_per_address": 3},
            "mail": {"ingest_domain": "in.pomme.fr"},
        }
    )


class AccountsWorkers:
    """Builds accounts workers with real collaborators, as one caller or another."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = create_service_engine(settings, "accounts")
        self.db = DatabaseAccess(self.engine, relay=None)
        with Session(self.engine) as session:
            self.key: ActiveKey = signing_keys.current_key(session, settings.auth.key_passphrase)
            session.commit()
        config = {"CRM": settings}
        self.verifier = TokenVerifier(lambda: _load_keys_from_database(config), settings.auth.issuer)

    def worker(self, access_token: str | None = None) -> AccountsService:
        return worker_factory(
            AccountsService,
            db=self.db,
            caller=CallerAccess(self.verifier, {"access_token": access_token}),
            signing_key=self.key,
            config={"CRM": self.settings},
        )

    def access_token(self, user_id: str) -> str:
        """An access token of a fresh login session, made without a password check."""
        with self.db.transaction() as uow:
            user = uow.session.get(User, user_id)
            issued = login_sessions.start_login(uow.session, self.key, user, "192.0.2.10", self.settings.auth)
        return issued.access_token

    def as_user(self, user_id: str) -> AccountsService:
        return self.worker(self.access_token(user_id))

    def count(self, table: Any, *where: Any) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where))

    def events(self, event_type: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            rows = session.execute(
                select(outbox.c.payload)
                .where(outbox.c.event_type == event_type)
                .order_by(outbox.c.created_at, outbox.c.id)
            ).all()
        return [row.payload for row in rows]

    def bootstrap(self, request: dict[str, Any]) -> tuple[str, str]:
        """Create an organisation and its first admin, as ``crm admin bootstrap`` does."""
        with self.db.transaction() as uow:
            org, user = users.bootstrap(uow, validate(Bootstrap, request))
            return org.id, user.id

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> tuple[Path, Directory]:
    folder = tmp_path_factory.mktemp("accounts-template")
    settings = _settings(folder)
    upgrade(settings, "accounts")
    workers = AccountsWorkers(settings)
    try:
        pomme_org, alice = workers.bootstrap(
            {
                "org_name": "Pomme",
                "email": "alice@pomme.fr",
                "name": "Alice Martin",
                "password": ALICE_PASSWORD,
                "time_zone": "Europe/Paris",
            }
        )
        poire_org, diane = workers.bootstrap(
            {
                "org_name": "Poire",
                "email": "diane@poire.fr",
                "name": "Diane Lefèvre",
                "password": DIANE_PASSWORD,
            }
        )
        admin = workers.as_user(alice)
        bob = admin.create_user(
            {
                "email": "bob@pomme.fr",
                "name": "Bob Durand",
                "password": BOB_PASSWORD,
                "hourly_cost": {"amount": "45.00", "currency": "EUR"},
                "time_zone": "Europe/Paris",
            }
        )
        claire = admin.create_user(
            {
                "email": "claire@pomme.fr",
                "name": "Claire Petit",
                "password": CLAIRE_PASSWORD,
                "role": "admin",
                "read_only": True,
            }
        )
        emile = admin.create_user(
            {"email": "emile@pomme.fr", "name": "Émile Roux", "password": EMILE_PASSWORD}
        )
    finally:
        workers.close()
    directory = Directory(
        pomme_org=pomme_org,
        alice=alice,
        bob=bob["id"],
        claire=claire["id"],
        emile=emile["id"],
        poire_org=poire_org,
        diane=diane,
    )
    return folder, directory


@pytest.fixture
def accounts(template, tmp_path) -> Iterator[AccountsWorkers]:
    """Workers over a fresh copy of the template database, in this test's tmp_path."""
    folder, _ = template
    for source in folder.glob("accounts.db*"):
        shutil.copy(source, tmp_path / source.name)
    workers = AccountsWorkers(_settings(tmp_path))
    yield workers
    workers.close()


@pytest.fixture
def people(template) -> Directory:
    return template[1]
