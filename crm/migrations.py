"""Alembic migrations per service, applied by ``crm migrate`` and ``crm run``.

Each service keeps its scripts in ``services/<name>/migrations``; its ``env.py``
calls ``run_migrations`` with the service's metadata.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text

from crm.database import create_service_engine
from crm.settings import Settings

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def has_migrations(service: str) -> bool:
    return (SERVICES_DIR / service / "migrations" / "env.py").exists()


def alembic_config(service: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    return config


def upgrade(settings: Settings, service: str, revision: str = "head") -> None:
    """Bring ``service``'s database (or PostgreSQL schema) to ``revision``."""
    engine = create_service_engine(settings, service)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
        with engine.begin() as connection:
            config = alembic_config(service)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def revisions(settings: Settings, service: str) -> tuple[str | None, str]:
    """(the revision ``service``'s database is at, None before any; the code's latest one)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    (head,) = ScriptDirectory.from_config(alembic_config(service)).get_heads()
    engine = create_service_engine(settings, service)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision(), head
    finally:
        engine.dispose()


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's ``env.py``: migrate on the connection we were given."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `crm migrate`, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
