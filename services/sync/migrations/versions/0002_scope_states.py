"""scope states: a pull skips computing a scope nothing changed

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.times

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scope_states",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("computed_seq", sa.BigInteger(), nullable=False),
        sa.Column("dirty_seq", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", crm.times.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_scope_states")),
    )
    with op.batch_alter_table("scope_states", schema=None) as batch_op:
        batch_op.create_index("ix_scope_states_org", ["org_id"], unique=False)
    with op.batch_alter_table("scope_members", schema=None) as batch_op:
        batch_op.create_index("ix_scope_members_record", ["org_id", "table_name", "record_id"], unique=False)
    with op.batch_alter_table("replica_links", schema=None) as batch_op:
        batch_op.create_index("ix_replica_links_to", ["org_id", "to_table", "to_id"], unique=False)
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.create_index("ix_touches_record", ["table_name", "record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_index("ix_touches_record")
    with op.batch_alter_table("replica_links", schema=None) as batch_op:
        batch_op.drop_index("ix_replica_links_to")
    with op.batch_alter_table("scope_members", schema=None) as batch_op:
        batch_op.drop_index("ix_scope_members_record")
    with op.batch_alter_table("scope_states", schema=None) as batch_op:
        batch_op.drop_index("ix_scope_states_org")
    op.drop_table("scope_states")
