"""project_version: projects carry a version, bumped by each change, archive and restore

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 22:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing projects start at version 1, as a new one does.
    op.add_column("projects", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("version")
