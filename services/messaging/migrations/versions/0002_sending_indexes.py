"""partial indexes on messages still sending (the check for interrupted sends)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 20:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENDING = sa.text("status = 'sending'")


def upgrade() -> None:
    for table in ("sms_messages", "email_messages"):
        op.create_index(
            f"ix_{table}_sending",
            table,
            ["status_at"],
            unique=False,
            sqlite_where=_SENDING,
            postgresql_where=_SENDING,
        )


def downgrade() -> None:
    for table in ("sms_messages", "email_messages"):
        op.drop_index(f"ix_{table}_sending", table_name=table)
