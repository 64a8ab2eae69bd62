"""Shared fixtures. Real RabbitMQ and PostgreSQL come from the environment.

AMQP_URI (default: the local broker) and TEST_DATABASE_URL (default: SQLite
files in a temporary folder) choose the servers. The tests use a RabbitMQ vhost of
their own on that broker (``CRM_TEST_VHOST``, default ``crm-test``, made when
missing), so a ``crm run`` against the same broker never answers their calls. With PostgreSQL each service
gets its own schema, dropped and migrated afresh at the start of the run.
"""

import eventlet

eventlet.monkey_patch()  # noqa: E402  must come first, before kombu or sockets

import os  # noqa: E402
import warnings  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from crm.database import is_postgresql  # noqa: E402
from crm.migrations import upgrade  # noqa: E402
from crm.settings import Settings  # noqa: E402
from tests.broker import DEFAULT_TEST_VHOST, ensure_vhost, with_vhost  # noqa: E402

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

AMQP_URI = with_vhost(
    os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    os.environ.get("CRM_TEST_VHOST", DEFAULT_TEST_VHOST),
)
MIGRATED_SERVICES = ("accounts", "contacts", "messaging", "interactions", "notifier", "mailin", "sync")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    folder = tmp_path_factory.mktemp("db")
    return f"sqlite:///{folder}/{{service}}.db"


@pytest.fixture(scope="session")
def amqp_uri() -> str:
    """The tests' own vhost on the broker at ``AMQP_URI``, made when missing."""
    return ensure_vhost(AMQP_URI)


@pytest.fixture(scope="session")
def settings(database_url, amqp_uri, tmp_path_factory) -> Settings:
    return Settings.model_validate(
        {
            "amqp_uri": amqp_uri,
            "data_dir": str(tmp_path_factory.mktemp("data")),
            "database": {"url": database_url},
            "gateway": {"rpc_timeout_seconds": 5, "readiness_timeout_seconds": 2},
            "outbox": {"poll_interval_seconds": 0.2, "retry_delay_seconds": 0.2},
        }
    )


@pytest.fixture(scope="session")
def migrated(settings) -> Settings:
    """Fresh, migrated databases (PostgreSQL schemas) for every service."""
    for service in MIGRATED_SERVICES:
        url = settings.database_url(service)
        if is_postgresql(url):
            engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{service}" CASCADE'))
            engine.dispose()
        upgrade(settings, service)
    return settings


@pytest.fixture
def nameko_config(migrated) -> dict:
    return migrated.nameko_config()
