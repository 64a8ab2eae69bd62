"""Single interactions workers over a real, migrated database.

SQLite by default (a fresh copy of a migrated template per test); with
TEST_DATABASE_URL the ``interactions`` schema is emptied before each test.
``accounts`` and ``contacts`` lie outside the service under test: small
stand-ins answer for the users, settings, contacts and companies of these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.testing.services import worker_factory

from crm.auth import CallerAccess
from crm.lru import Lru
from crm.migrations import upgrade
from crm.settings import Settings
from services.accounts.exceptions import UserNotFound
from services.contacts.exceptions import CompanyNotFound, ContactNotFound
from services.interactions.dependencies import CallerUserLookup
from services.interactions.live_references import LiveReferences
from services.interactions.models import Base
from services.interactions.service import InteractionsService
from tests.people import ALICE, BOB, CLAIRE, DIANE, POIRE, POMME, Person
from tests.unit.service_workers import ServiceWorkers, fresh_workers

PEOPLE = (ALICE, BOB, CLAIRE, DIANE)
NAMES = {ALICE: "Alice Martin", BOB: "Bruno Petit", CLAIRE: "Claire Morel", DIANE: "Diane Roux"}
# Hourly costs and time zones as accounts keeps them.
COSTS = {ALICE: {"amount": "80.00", "currency": "EUR"}, BOB: {"amount": "45.50", "currency": "EUR"}}
ZONES = {ALICE: "Europe/Paris", BOB: "America/Montreal", CLAIRE: "Europe/Paris", DIANE: "Europe/Paris"}
SIEGE = "company-siege"  # a company of Pomme
JEANNE = "contact-jeanne"  # a contact of Pomme
BOULANGERIE = "company-boulangerie"  # a company of Pomme, with a position
# Where contacts has Pomme's contacts and companies: (name, position or None); tests may change it.
PLACES: dict[str, tuple[str, dict[str, Any] | None]] = {
    SIEGE: ("Pomme Siège Central", None),
    JEANNE: ("Jeanne Dupont", None),
    BOULANGERIE: (
        "Boulangerie Dupont Paris",
        {"latitude": 48.8724, "longitude": 2.3325, "source": "phone_gps"},
    ),
}


def _settings(folder: Path, url: str | None = None) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(folder), "database": {"url": url or f"sqlite:///{folder}/{{service}}.db"}}
    )


class Accounts:
    """Stands in for ``accounts``: users of the caller's organisation, and org settings."""

    def __init__(self, caller_org: str, settings: dict[str, dict[str, Any]]):
        self.caller_org = caller_org
        self.settings = settings

    def get_user(self, user_id: str) -> dict[str, Any]:
        for person in PEOPLE:
            if person.user_id == user_id and person.org_id == self.caller_org:
                return {
                    "id": user_id,
                    "name": NAMES[person],
                    "role": person.role,
                    "time_zone": ZONES[person],
                    "hourly_cost": COSTS.get(person),
                }
        raise UserNotFound(f"no user {user_id}")

    def get_org_settings(self, org_id: str) -> dict[str, Any]:
        return {
            "multi_user_interactions": False,
            "allow_double_booking": False,
            **self.settings.get(org_id, {}),
        }


class Contacts:
    """Stands in for ``contacts``: one company and one contact, of Pomme."""

    def __init__(self, caller_org: str):
        self.caller_org = caller_org

    def get_company(self, company_id: str) -> dict[str, Any]:
        if company_id == SIEGE and self.caller_org == POMME:
            return {"id": SIEGE, "name": "Pomme Siège Central", "group": "Pomme"}
        raise CompanyNotFound(f"no company {company_id}")

    def company_refs(self, company_ids: list[str]) -> dict[str, dict[str, Any]]:
        if SIEGE in company_ids and self.caller_org == POMME:
            return {SIEGE: {"id": SIEGE, "name": "Pomme Siège Central", "group": "Pomme", "deleted": False}}
        return {}

    def live_ids(self, contact_ids: list[str], company_ids: list[str]) -> dict[str, list[str]]:
        ours = self.caller_org == POMME
        return {
            "contact_ids": [i for i in contact_ids if ours and i == JEANNE],
            "company_ids": [i for i in company_ids if ours and i in (SIEGE, BOULANGERIE)],
        }

    def positions(self, contact_ids: list[str], company_ids: list[str]) -> dict[str, Any]:
        live = self.live_ids(contact_ids, company_ids)
        return {
            key: {i: {"id": i, "name": PLACES[i][0], "position": PLACES[i][1]} for i in live[f"{kind}_ids"]}
            for key, kind in (("contacts", "contact"), ("companies", "company"))
        }

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        if contact_id == JEANNE and self.caller_org == POMME:
            return {"id": JEANNE, "first_name": "Jeanne", "last_name": "Dupont"}
        raise ContactNotFound(f"no contact {contact_id}")


class InteractionsWorkers(ServiceWorkers):
    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey):
        super().__init__(settings, signing_key, "interactions", Base.metadata)
        self.org_settings: dict[str, dict[str, Any]] = {}

    def turn_on(self, org_id: str = POMME, **settings: bool) -> None:
        """Change the stand-in organisation settings, e.g. ``turn_on(multi_user_interactions=True)``."""
        self.org_settings.setdefault(org_id, {}).update(settings)

    def as_user(self, person: Person) -> InteractionsService:
        return worker_factory(
            InteractionsService,
            db=self.db,
            caller=CallerAccess(self.verifier, {"access_token": self.access_token(person)}),
            accounts=Accounts(person.org_id, self.org_settings),
            contacts=Contacts(person.org_id),
            caller_users=CallerUserLookup(Lru(100)),
            live_references=LiveReferences(),  # not listening: asks contacts every time
            config={"CRM": self.settings},
        )

    def system(self) -> InteractionsService:
        """A worker with no caller (mail ingestion, event handlers)."""
        return worker_factory(InteractionsService, db=self.db, config={"CRM": self.settings})


@pytest.fixture(scope="session")
def interactions_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def interactions_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("interactions-template")
    upgrade(_settings(folder), "interactions")
    return folder


@pytest.fixture
def interactions(request, tmp_path, interactions_signing_key) -> Iterator[InteractionsWorkers]:
    def build(migrated: Settings | None) -> InteractionsWorkers:
        settings = _settings(tmp_path, migrated.database.url) if migrated else _settings(tmp_path)
        return InteractionsWorkers(settings, interactions_signing_key)

    yield from fresh_workers(request, tmp_path, "interactions", "interactions_template", build)


__all__ = ["ALICE", "BOB", "CLAIRE", "DIANE", "POIRE", "POMME", "SIEGE", "JEANNE", "BOULANGERIE"]
