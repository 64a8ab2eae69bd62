"""Unit-tier fixtures: no broker, no network; SQLite files in the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from emulations.server import ProviderSandbox


@pytest.fixture
def unit_settings(tmp_path) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/{{service}}.db"}}
    )


@pytest.fixture
def accounts_db(unit_settings) -> Iterator[DatabaseAccess]:
    """The accounts schema (with its outbox and inbox tables), freshly migrated."""
    upgrade(unit_settings, "accounts")
    engine = create_service_engine(unit_settings, "accounts")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ProviderSandbox]:
    """The provider emulations (Twilio, SendGrid, Mailjet) on a free port, for one test module."""
    sandbox = ProviderSandbox()
    sandbox.serve()
    yield sandbox
    sandbox.stop()
