"""mailboxes: the code of the last error, and messages skipped for their size

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 18:15:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error_code", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("messages_skipped", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_skipped", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("last_skipped")
        batch_op.drop_column("messages_skipped")
        batch_op.drop_column("last_error_code")
