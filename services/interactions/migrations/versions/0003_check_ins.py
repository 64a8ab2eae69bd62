"""check_ins: visits opened by a geographic check-in and closed by a check-out; the check-in radius of a type

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 21:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("checked_out_at IS NULL")


def upgrade() -> None:
    op.add_column("interaction_types", sa.Column("checkin_radius_m", sa.Integer(), nullable=True))
    op.create_table(
        "check_ins",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("interaction_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("accuracy_m", sa.Double(), nullable=False),
        sa.Column("place_kind", sa.String(length=10), nullable=True),
        sa.Column("place_id", sa.String(length=36), nullable=True),
        sa.Column("place_name", sa.String(length=500), nullable=True),
        sa.Column("distance_m", sa.Integer(), nullable=True),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    op.create_index(
        "ix_check_ins_interaction_id_checked_in_at", "check_ins", ["interaction_id", "checked_in_at"]
    )
    op.create_index(
        "ix_check_ins_open_interaction_id_user_id",
        "check_ins",
        ["interaction_id", "user_id"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_check_ins_open_interaction_id_user_id", table_name="check_ins")
    op.drop_index("ix_check_ins_interaction_id_checked_in_at", table_name="check_ins")
    op.drop_table("check_ins")
    with op.batch_alter_table("interaction_types") as batch_op:
        batch_op.drop_column("checkin_radius_m")
