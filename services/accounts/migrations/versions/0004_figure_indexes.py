"""indexes for the business figures (services/accounts/metrics.py): sessions signed in, renewals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNED_IN = sa.text("kind = 'login' AND revoked_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_login_sessions_signed_in",
        "login_sessions",
        ["expires_at"],
        sqlite_where=_SIGNED_IN,
        postgresql_where=_SIGNED_IN,
    )
    op.create_index("ix_refresh_tokens_issued_at", "refresh_tokens", ["issued_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_issued_at", table_name="refresh_tokens")
    op.drop_index("ix_login_sessions_signed_in", table_name="login_sessions")
