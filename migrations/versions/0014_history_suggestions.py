"""answers from history (threads, replies, settings, suggestions); offhours paging policy

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('watched_channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offhours', sa.String(length=16), server_default='wait', nullable=False))

    op.create_table('history_threads',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('request_id', _ID, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('last_reply_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('forgotten', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_history_threads_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_threads')),
    sa.UniqueConstraint('request_id', name='uq_history_thread_request')
    )
    with op.batch_alter_table('history_threads', schema=None) as batch_op:
        batch_op.create_index('ix_history_threads_channel', ['workspace_id', 'channel_id', 'forgotten'], unique=False)

    op.create_table('history_replies',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('thread_id', _ID, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['history_threads.id'], name=op.f('fk_history_replies_thread_id_history_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_replies')),
    sa.UniqueConstraint('workspace_id', 'channel_id', 'ts', name='uq_history_reply_message')
    )
    op.create_table('suggestion_settings',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_settings')),
    sa.UniqueConstraint('workspace_id', 'channel_id', name='uq_suggestion_settings')
    )
    op.create_table('suggestions',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('request_id', _ID, nullable=False),
    sa.Column('thread_id', _ID, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('requester', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('verdict_by', sa.String(length=64), nullable=True),
    sa.Column('verdict_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_suggestions_request_id_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['history_threads.id'], name=op.f('fk_suggestions_thread_id_history_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions')),
    sa.UniqueConstraint('request_id', name='uq_suggestion_request')
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index('ix_suggestions_channel', ['workspace_id', 'channel_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index('ix_suggestions_channel')
    op.drop_table('suggestions')
    op.drop_table('suggestion_settings')
    op.drop_table('history_replies')
    with op.batch_alter_table('history_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_history_threads_channel')
    op.drop_table('history_threads')
    with op.batch_alter_table('watched_channels', schema=None) as batch_op:
        batch_op.drop_column('offhours')
