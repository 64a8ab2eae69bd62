"""accounts' business figures for Prometheus.

- ``crm_active_sessions``: login sessions signed in now (neither signed out nor expired), read
  at each scrape. API tokens are not counted: no one sits behind them.
- ``crm_active_users``: users who logged in or renewed their access token in the last
  ``ACTIVE_WINDOW``. An app in use renews it every ``auth.access_token_ttl_seconds`` (15
  minutes by default, the window); with a longer lifetime a user counts only in the 15
  minutes after each renewal.
- ``crm_login_failures_total`` and ``crm_login_throttled_total``: counted by the process that
  answered (``login_throttle``): the database keeps a failure only as long as it counts
  towards throttling.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import Counter
from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, distinct, func, select

from crm.figures import StoredFigures, gauge
from crm.times import utcnow
from services.accounts.models import LoginSession, RefreshToken

ACTIVE_WINDOW = timedelta(minutes=15)

login_failures = Counter(
    "crm_login_failures_total", "Logins refused for a wrong e-mail or password, or a deactivated user"
)
login_throttled = Counter(
    "crm_login_throttled_total", "Logins refused unchecked: too many failures of the account or address"
)


def collectors(engine: Engine) -> list[StoredFigures]:
    return [SessionFigures(engine)]


class SessionFigures(StoredFigures):
    """Both through indexes that reach only what counts (sessions live, renewals of the window)."""

    def families(self) -> list[Metric]:
        return [
            gauge("crm_active_sessions", "Login sessions signed in (not signed out, not expired)"),
            gauge("crm_active_users", "Users who logged in or renewed a token in the last 15 minutes"),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        sessions, users = self.families()
        now = utcnow()
        signed_in = select(func.count()).where(
            LoginSession.kind == "login", LoginSession.revoked_at.is_(None), LoginSession.expires_at > now
        )
        renewed = (
            select(func.count(distinct(LoginSession.user_id)))
            .select_from(RefreshToken)
            .join(LoginSession, LoginSession.id == RefreshToken.session_id)
            .where(RefreshToken.issued_at > now - ACTIVE_WINDOW)
        )
        sessions.add_metric([], connection.scalar(signed_in))
        users.add_metric([], connection.scalar(renewed))
        return [sessions, users]
