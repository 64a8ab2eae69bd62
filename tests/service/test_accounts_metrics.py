"""accounts' business figures after real logins on the running service (real broker, database):
sessions signed in, users active, failed and throttled logins."""

from __future__ import annotations

import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY

from crm.database import DatabaseAccess, create_service_engine
from crm.errors import RateLimited
from crm.validation import validate
from services.accounts import metrics, users
from services.accounts.exceptions import InvalidCredentials
from services.accounts.schemas import Bootstrap
from services.accounts.service import AccountsService
from tests.figures import scrape

PASSWORD = "Cerisier-en-fleurs-2026"


@pytest.fixture
def accounts(container_factory, migrated):
    container = container_factory(AccountsService, migrated.nameko_config())
    container.start()
    return container


@pytest.fixture
def engine(migrated):
    engine = create_service_engine(migrated, "accounts")
    yield engine
    engine.dispose()


@pytest.fixture
def admin_email(engine) -> str:
    """A new organisation's first admin (the accounts schema is shared by the whole run)."""
    email = f"gerante-{uuid.uuid4().hex[:8]}@cerise.fr"
    request = {"org_name": "Cerise Fleurs", "email": email, "name": "Agnès Cerise", "password": PASSWORD}
    with DatabaseAccess(engine, relay=None).transaction() as uow:
        users.bootstrap(uow, validate(Bootstrap, request))
    return email


def _figures(engine) -> tuple[float, float]:
    figures = scrape(metrics, engine)
    return figures.get_sample_value("crm_active_sessions"), figures.get_sample_value("crm_active_users")


def _counted() -> tuple[float, float]:
    """The process's own counters, on the registry its metrics port serves."""
    return REGISTRY.get_sample_value("crm_login_failures_total"), REGISTRY.get_sample_value(
        "crm_login_throttled_total"
    )


def _login(migrated, email: str, password: str, **context) -> dict:
    with ClusterRpcProxy(migrated.nameko_config(), context_data=context, timeout=10) as cluster:
        return cluster.accounts.login({"email": email, "password": password}, "203.0.113.8")


def test_a_login_is_a_session_and_an_active_user_until_its_logout(accounts, migrated, engine, admin_email):
    sessions, active = _figures(engine)

    tokens = _login(migrated, admin_email, PASSWORD)
    assert _figures(engine) == (sessions + 1, active + 1)

    with ClusterRpcProxy(
        migrated.nameko_config(), context_data={"access_token": tokens["access_token"]}, timeout=10
    ) as cluster:
        cluster.accounts.logout({})
    # Signed out; still one of the users active in the last 15 minutes.
    assert _figures(engine) == (sessions, active + 1)


def test_wrong_passwords_count_as_failures_then_the_account_is_throttled(accounts, migrated, admin_email):
    limit = migrated.auth.login_failures_per_account
    failures, throttled = _counted()

    for _ in range(limit):
        with pytest.raises(InvalidCredentials):
            _login(migrated, admin_email, "pas-le-bon-mot")
    with pytest.raises(RateLimited):
        _login(migrated, admin_email, PASSWORD)

    assert _counted() == (failures + limit, throttled + 1)
