"""interest name keys as long as a case-folded name can be (ß folds to ss: up to 3x)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interests", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(100), type_=sa.String(300))


def downgrade() -> None:
    with op.batch_alter_table("interests", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(300), type_=sa.String(100))
