"""Failed-login throttling, per account and per client address.

Kept in the accounts database rather than in the gateway so that every gateway
process sees the same counts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm.errors import RateLimited
from crm.settings import AuthSettings
from crm.times import utcnow
from services.accounts.metrics import login_failures, login_throttled
from services.accounts.models import LoginFailure

UNKNOWN_ADDRESS = "unknown"


def check_allowed(session: Session, email: str, address: str | None, auth: AuthSettings) -> None:
    """Raise ``RateLimited`` when the account or the address failed too often lately."""
    since = utcnow() - timedelta(seconds=auth.login_window_seconds)
    by_account = session.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.failed_at > since)
    )
    if by_account >= auth.login_failures_per_account:
        login_throttled.inc()
        raise RateLimited(
            "too many failed logins for this account; wait before trying again",
            retry_after=auth.login_window_seconds,
            policy="login-account",
            quota=auth.login_failures_per_account,
            window=auth.login_window_seconds,
        )
    by_address = session.scalar(
        select(func.count()).where(
            LoginFailure.client_address == (address or UNKNOWN_ADDRESS),
            LoginFailure.failed_at > since,
        )
    )
    if by_address >= auth.login_failures_per_address:
        login_throttled.inc()
        raise RateLimited(
            "too many failed logins from this address; wait before trying again",
            retry_after=auth.login_window_seconds,
            policy="login-address",
            quota=auth.login_failures_per_address,
            window=auth.login_window_seconds,
        )


def record_failure(session: Session, email: str, address: str | None, auth: AuthSettings) -> None:
    login_failures.inc()
    now = utcnow()
    session.add(LoginFailure(email=email, client_address=address or UNKNOWN_ADDRESS, failed_at=now))
    # Keep the table small: older failures no longer count.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.failed_at < now - timedelta(seconds=auth.login_window_seconds * 2)
        )
    )


def clear_account(session: Session, email: str) -> None:
    """A successful login forgives the account's earlier failures."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
