"""indexes holding what the business figures group messages by (services/messaging/metrics.py)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sms_messages_provider_status", "sms_messages", ["provider", "status"])
    op.create_index(
        "ix_email_messages_to_domain_status_provider", "email_messages", ["to_domain", "status", "provider"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_messages_to_domain_status_provider", table_name="email_messages")
    op.drop_index("ix_sms_messages_provider_status", table_name="sms_messages")
