"""contacts' usual order (last name, a missing one as "") is served by an index on that expression

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_contacts_org_id_last_name_id", table_name="contacts")
    op.create_index(
        "ix_contacts_org_id_sort_last_name_id",
        "contacts",
        ["org_id", sa.text("coalesce(last_name, '')"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_org_id_sort_last_name_id", table_name="contacts")
    op.create_index("ix_contacts_org_id_last_name_id", "contacts", ["org_id", "last_name", "id"], unique=False)
