"""desk: channels, requests, inbox, timers, outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 11:42:57.766552
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('inbox',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_inbox'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('thread_ts', sa.String(length=32), nullable=True),
    sa.Column('key', sa.String(length=100), nullable=True),
    sa.Column('ref_key', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed', sa.Boolean(), nullable=False),
    sa.Column('platform_channel', sa.String(length=64), nullable=True),
    sa.Column('platform_ts', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    op.create_index('ix_outbox_key', 'outbox', ['key'], unique=False)
    op.create_index('ix_outbox_pending', 'outbox', ['sent_at', 'destination', 'id'], unique=False)
    op.create_table('requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requester', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=True),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('last_occurrence_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_responder', sa.String(length=64), nullable=True),
    sa.Column('first_response_via', sa.String(length=16), nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('close_seconds', sa.Float(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('escalation_key', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests')),
    sa.UniqueConstraint('workspace_id', 'channel_id', 'ts', name='uq_request_message')
    )
    op.create_index('ix_requests_open', 'requests', ['workspace_id', 'channel_id', 'closed_at', 'first_response_at'], unique=False)
    op.create_index('ix_requests_posted', 'requests', ['posted_at'], unique=False)
    op.create_table('timers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('late_seconds', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('subject', 'step', name='uq_timer_subject_step')
    )
    op.create_index('ix_timers_due', 'timers', ['fired_at', 'due_at'], unique=False)
    op.create_table('watched_channels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('responders_mode', sa.String(length=16), nullable=False),
    sa.Column('responders', sa.JSON(), nullable=False),
    sa.Column('hours', sa.String(length=200), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('holidays', sa.String(length=16), nullable=True),
    sa.Column('escalate', sa.String(length=64), nullable=True),
    sa.Column('ack_emojis', sa.JSON(), nullable=False),
    sa.Column('done_emojis', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watched_channels')),
    sa.UniqueConstraint('workspace_id', 'channel_id', name='uq_watched_channel')
    )
    op.create_table('workspaces',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('bot_user_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces'))
    )
    op.create_table('request_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_request_messages_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_messages')),
    sa.UniqueConstraint('workspace_id', 'channel_id', 'ts', name='uq_request_msg')
    )
    


def downgrade() -> None:
    
    op.drop_table('request_messages')
    op.drop_table('workspaces')
    op.drop_table('watched_channels')
    op.drop_index('ix_timers_due', table_name='timers')
    op.drop_table('timers')
    op.drop_index('ix_requests_posted', table_name='requests')
    op.drop_index('ix_requests_open', table_name='requests')
    op.drop_table('requests')
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.drop_index('ix_outbox_key', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('inbox')
    
