"""Failed-login throttling per account and per client address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import RateLimited
from crm.times import utcnow
from services.accounts import login_throttle
from services.accounts.exceptions import InvalidCredentials
from services.accounts.models import LoginFailure
from tests.unit.accounts.directory import ALICE_PASSWORD, BOB_PASSWORD


def _fail_login(accounts, email: str, address: str = "192.0.2.20") -> None:
    with pytest.raises(InvalidCredentials):
        accounts.worker().login({"email": email, "password": "pas-le-bon-mot"}, address)


def test_account_is_rate_limited_after_too_many_failures_even_with_the_right_password(accounts):
    auth = accounts.settings.auth
    for _ in range(auth.login_failures_per_account):
        _fail_login(accounts, "bob@pomme.fr")

    with pytest.raises(RateLimited) as raised:
        accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD}, "192.0.2.99")

    assert raised.value.retry_after == auth.login_window_seconds
    assert raised.value.policy == (
        "login-account",
        auth.login_failures_per_account,
        auth.login_window_seconds,
    )


def test_failures_just_under_the_limit_still_let_the_right_password_in(accounts, people):
    for _ in range(accounts.settings.auth.login_failures_per_account - 1):
        _fail_login(accounts, "bob@pomme.fr")

    tokens = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    assert tokens["user"]["id"] == people.bob


def test_rate_limit_on_one_account_leaves_colleagues_alone(accounts, people):
    for _ in range(accounts.settings.auth.login_failures_per_account):
        _fail_login(accounts, "bob@pomme.fr", address="192.0.2.20")

    tokens = accounts.worker().login({"email": "alice@pomme.fr", "password": ALICE_PASSWORD}, "192.0.2.21")

    assert tokens["user"]["id"] == people.alice


def test_too_many_failures_from_one_address_block_every_account_from_it(accounts, people):
    auth = accounts.settings.auth
    assert auth.login_failures_per_address > auth.login_failures_per_account
    for number in range(auth.login_failures_per_address):
        _fail_login(accounts, f"inconnu{number}@pomme.fr", address="198.51.100.7")

    with pytest.raises(RateLimited):
        accounts.worker().login({"email": "alice@pomme.fr", "password": ALICE_PASSWORD}, "198.51.100.7")
    tokens = accounts.worker().login({"email": "alice@pomme.fr", "password": ALICE_PASSWORD}, "198.51.100.8")
    assert tokens["user"]["id"] == people.alice


def test_successful_login_forgives_the_accounts_earlier_failures(accounts, people):
    below_limit = accounts.settings.auth.login_failures_per_account - 1
    for _ in range(below_limit):
        _fail_login(accounts, "bob@pomme.fr")
    accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    for _ in range(below_limit):
        _fail_login(accounts, "bob@pomme.fr")
    tokens = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    assert tokens["user"]["id"] == people.bob


def test_a_rate_limited_attempt_is_not_counted_as_a_new_failure(accounts):
    auth = accounts.settings.auth
    for _ in range(auth.login_failures_per_account):
        _fail_login(accounts, "bob@pomme.fr")

    with pytest.raises(RateLimited):
        accounts.worker().login({"email": "bob@pomme.fr", "password": "pas-le-bon-mot"})

    assert accounts.count(LoginFailure.__table__) == auth.login_failures_per_account


def _add_failures(session, count: int, age: timedelta, email: str, address: str) -> None:
    for _ in range(count):
        session.add(LoginFailure(email=email, client_address=address, failed_at=utcnow() - age))


def test_failures_older_than_the_window_no_longer_count(accounts):
    auth = accounts.settings.auth
    window = timedelta(seconds=auth.login_window_seconds)
    with accounts.db.transaction() as uow:
        _add_failures(
            uow.session,
            auth.login_failures_per_account,
            window + timedelta(minutes=1),
            "bob@pomme.fr",
            "192.0.2.20",
        )

    with accounts.db.read() as session:
        login_throttle.check_allowed(session, "bob@pomme.fr", "192.0.2.20", auth)


def test_failures_inside_the_window_count(accounts):
    auth = accounts.settings.auth
    with accounts.db.transaction() as uow:
        _add_failures(
            uow.session,
            auth.login_failures_per_account,
            timedelta(minutes=1),
            "bob@pomme.fr",
            "192.0.2.20",
        )

    with accounts.db.read() as session, pytest.raises(RateLimited):
        login_throttle.check_allowed(session, "bob@pomme.fr", "192.0.2.20", auth)


def test_recording_a_failure_forgets_failures_long_past(accounts):
    auth = accounts.settings.auth
    with accounts.db.transaction() as uow:
        _add_failures(
            uow.session,
            2,
            timedelta(seconds=auth.login_window_seconds * 3),
            "bob@pomme.fr",
            "192.0.2.20",
        )

    with accounts.db.transaction() as uow:
        login_throttle.record_failure(uow.session, "bob@pomme.fr", "192.0.2.20", auth)

    assert accounts.count(LoginFailure.__table__) == 1


def test_failures_without_a_known_address_share_one_bucket(accounts):
    auth = accounts.settings.auth
    with accounts.db.transaction() as uow:
        for number in range(auth.login_failures_per_address):
            login_throttle.record_failure(uow.session, f"inconnu{number}@pomme.fr", None, auth)

    with accounts.db.read() as session, pytest.raises(RateLimited):
        login_throttle.check_allowed(session, "alice@pomme.fr", None, auth)
