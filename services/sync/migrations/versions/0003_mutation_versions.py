"""device mutations remember the version the owner answered

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_mutations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_mutations", schema=None) as batch_op:
        batch_op.drop_column("result_version")
