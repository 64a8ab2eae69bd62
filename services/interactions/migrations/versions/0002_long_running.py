"""interactions.long_until: the end of interactions running longer than 7 days, for the agenda

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MARKED = sa.text("long_until IS NOT NULL")


def upgrade() -> None:
    op.add_column("interactions", sa.Column("long_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_interactions_org_id_long_until",
        "interactions",
        ["org_id", "long_until"],
        unique=False,
        sqlite_where=_MARKED,
        postgresql_where=_MARKED,
    )
    if op.get_bind().dialect.name == "postgresql":
        longer = "end_at - start_at > interval '7 days'"
    else:
        longer = "julianday(end_at) - julianday(start_at) > 7"
    op.execute(f"UPDATE interactions SET long_until = end_at WHERE end_at IS NOT NULL AND {longer}")


def downgrade() -> None:
    op.drop_index("ix_interactions_org_id_long_until", table_name="interactions")
    op.drop_column("interactions", "long_until")
