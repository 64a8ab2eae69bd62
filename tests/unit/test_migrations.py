"""Each service's migrations build the tables its models describe: a model changed without
a migration (or a migration without its model) fails here, not in production."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crm.database import create_service_engine
from crm.settings import Settings
from tests.conftest import MIGRATED_SERVICES

# Made by the migrations only, on PostgreSQL with pg_trgm (contacts' search), not in the models.
MIGRATION_ONLY_INDEXES = {"ix_companies_search_text_trgm", "ix_contacts_search_text_trgm"}


def _differences(settings: Settings, service: str) -> list:
    models = importlib.import_module(f"services.{service}.models")
    engine = create_service_engine(settings, service)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            found = compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()
    return [
        difference
        for difference in found
        if not (difference[0] == "remove_index" and difference[1].name in MIGRATION_ONLY_INDEXES)
    ]


@pytest.mark.parametrize("service", MIGRATED_SERVICES)
def test_the_migrated_database_matches_the_models(migrated, service):
    assert _differences(migrated, service) == []
