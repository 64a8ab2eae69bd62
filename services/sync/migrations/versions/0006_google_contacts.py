"""google_connections, google_links, google_runs, google_run_log: Google Contacts two-way sync

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('google_connections',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=True),
    sa.Column('state_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('crm_token', sa.Text(), nullable=False),
    sa.Column('crm_token_id', sa.String(length=36), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('group_resource_name', sa.String(length=100), nullable=True),
    sa.Column('sync_token', sa.Text(), nullable=True),
    sa.Column('crm_seq', sa.BigInteger(), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_code', sa.String(length=30), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_google_connections')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_google_connections_state_hash'))
    )
    with op.batch_alter_table('google_connections', schema=None) as batch_op:
        batch_op.create_index('ix_google_connections_next_run_at', ['next_run_at'], unique=False)

    op.create_table('google_links',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=80), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('resource_name', sa.String(length=100), nullable=False),
    sa.Column('etag', sa.String(length=100), nullable=False),
    sa.Column('agreed', sa.Text(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'contact_id', name=op.f('pk_google_links'))
    )
    with op.batch_alter_table('google_links', schema=None) as batch_op:
        batch_op.create_index('uq_google_links_user_id_resource_name', ['user_id', 'resource_name'], unique=True)

    op.create_table('google_run_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=80), nullable=True),
    sa.Column('resource_name', sa.String(length=100), nullable=True),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_run_log'))
    )
    with op.batch_alter_table('google_run_log', schema=None) as batch_op:
        batch_op.create_index('ix_google_run_log_run_id_id', ['run_id', 'id'], unique=False)

    op.create_table('google_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('phase', sa.String(length=12), nullable=False),
    sa.Column('google_total', sa.Integer(), nullable=False),
    sa.Column('google_done', sa.Integer(), nullable=False),
    sa.Column('crm_total', sa.Integer(), nullable=False),
    sa.Column('crm_done', sa.Integer(), nullable=False),
    sa.Column('created_in_crm', sa.Integer(), nullable=False),
    sa.Column('updated_in_crm', sa.Integer(), nullable=False),
    sa.Column('created_in_google', sa.Integer(), nullable=False),
    sa.Column('updated_in_google', sa.Integer(), nullable=False),
    sa.Column('linked', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('full_listing', sa.Boolean(), nullable=False),
    sa.Column('page_token', sa.Text(), nullable=True),
    sa.Column('crm_after_id', sa.String(length=80), nullable=True),
    sa.Column('crm_upto', sa.BigInteger(), nullable=True),
    sa.Column('error_code', sa.String(length=30), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('runner_id', sa.String(length=36), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_runs'))
    )
    with op.batch_alter_table('google_runs', schema=None) as batch_op:
        batch_op.create_index('ix_google_runs_user_id_created_at', ['user_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('google_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_google_runs_user_id_created_at')

    op.drop_table('google_runs')
    with op.batch_alter_table('google_run_log', schema=None) as batch_op:
        batch_op.drop_index('ix_google_run_log_run_id_id')

    op.drop_table('google_run_log')
    with op.batch_alter_table('google_links', schema=None) as batch_op:
        batch_op.drop_index('uq_google_links_user_id_resource_name')

    op.drop_table('google_links')
    with op.batch_alter_table('google_connections', schema=None) as batch_op:
        batch_op.drop_index('ix_google_connections_next_run_at')

    op.drop_table('google_connections')
