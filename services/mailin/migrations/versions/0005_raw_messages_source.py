"""index of stored messages by source, for the business figures (services/mailin/metrics.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_raw_messages_source", "raw_messages", ["source"])


def downgrade() -> None:
    op.drop_index("ix_raw_messages_source", table_name="raw_messages")
