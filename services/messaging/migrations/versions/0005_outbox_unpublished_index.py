"""the outbox's unpublished rows in a partial index, in place of every row's by published_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:30:00

"""

from collections.abc import Sequence

from alembic import op

from crm.outbox import index_every_row, index_unpublished_rows

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_unpublished_rows(op)


def downgrade() -> None:
    index_every_row(op)
