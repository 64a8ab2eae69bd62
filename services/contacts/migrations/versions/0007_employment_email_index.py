"""employments are found by their professional e-mail (a mail from it finds its contact)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_employments_org_id_email", "employments", ["org_id", "email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_employments_org_id_email", table_name="employments")
