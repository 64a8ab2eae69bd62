"""companies and contacts' addresses carry an optional position (latitude, longitude, its source),
indexed by organisation and latitude for nearest-first lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE_WITH_POSITION = sa.text("deleted_at IS NULL AND latitude IS NOT NULL")


def upgrade() -> None:
    for table in ("companies", "contacts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
            batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))
            batch_op.add_column(sa.Column("position_source", sa.String(length=10), nullable=True))
            batch_op.create_index(
                f"ix_{table}_org_id_latitude_longitude",
                ["org_id", "latitude", "longitude"],
                unique=False,
                sqlite_where=_LIVE_WITH_POSITION,
                postgresql_where=_LIVE_WITH_POSITION,
            )


def downgrade() -> None:
    for table in ("contacts", "companies"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_org_id_latitude_longitude")
            batch_op.drop_column("position_source")
            batch_op.drop_column("longitude")
            batch_op.drop_column("latitude")
