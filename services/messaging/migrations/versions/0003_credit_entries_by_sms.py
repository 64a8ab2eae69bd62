"""index of credit entries by SMS (what an SMS holds: refunds and charges after a refund)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OF_AN_SMS = sa.text("sms_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_credit_entries_sms_id",
        "credit_entries",
        ["sms_id"],
        unique=False,
        sqlite_where=_OF_AN_SMS,
        postgresql_where=_OF_AN_SMS,
    )


def downgrade() -> None:
    op.drop_index("ix_credit_entries_sms_id", table_name="credit_entries")
