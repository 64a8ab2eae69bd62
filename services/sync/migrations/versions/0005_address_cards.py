"""address_cards: the contacts of the CardDAV address book, stamped with the change sequence

Every contact the replica holds gets its card, stamped with the contact's own sequence (no
client holds a sync token from before this revision, so the employments' and companies'
later changes are enough); its details (phones in E.164, social profiles) come with the
contact's next event, and the card shows the phones as typed until then.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_cards",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("vcard_3", sa.Text(), nullable=True),
        sa.Column("vcard_4", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "contact_id", name=op.f("pk_address_cards")),
    )
    with op.batch_alter_table("address_cards", schema=None) as batch_op:
        batch_op.create_index("ix_address_cards_org_seq", ["org_id", "seq"], unique=False)
    op.execute(
        "INSERT INTO address_cards (org_id, contact_id, seq, deleted) "
        "SELECT org_id, record_id, seq, deleted FROM replica_records WHERE table_name = 'contacts'"
    )


def downgrade() -> None:
    with op.batch_alter_table("address_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_address_cards_org_seq")
    op.drop_table("address_cards")
