"""request quality: noise filter and bursts, next-response and resolution targets, waiting

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:50:00.000000

Existing channels get the new rules switched on (noise=on, bursts of 3 minutes); set
noise=off on a channel to keep its previous request rules exactly.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('watched_channels') as batch:
        batch.add_column(sa.Column('noise', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column('noise_added', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('noise_removed', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('burst_seconds', sa.Integer(), server_default='180', nullable=False))
        batch.add_column(sa.Column('next_target_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('resolve_target_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('waiting', sa.JSON(), nullable=True))
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('next_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('waited_seconds', sa.Float(), server_default='0', nullable=False))
        batch.add_column(sa.Column('resolve_target_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('resolve_due_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('set_aside_posts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('request_id', _ID, nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_set_aside_posts_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_set_aside_posts')),
    sa.UniqueConstraint('workspace_id', 'channel_id', 'ts', name='uq_set_aside_post')
    )
    op.create_index('ix_set_aside_posted', 'set_aside_posts', ['workspace_id', 'channel_id', 'posted_at'], unique=False)
    op.create_table('next_responses',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('request_id', _ID, nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('responder', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_next_responses_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_next_responses'))
    )
    op.create_index('ix_next_responses_request', 'next_responses', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_next_responses_request', table_name='next_responses')
    op.drop_table('next_responses')
    op.drop_index('ix_set_aside_posted', table_name='set_aside_posts')
    op.drop_table('set_aside_posts')
    with op.batch_alter_table('requests') as batch:
        for name in ('resolve_due_at', 'resolve_target_seconds', 'waited_seconds',
                     'waiting_since', 'next_due_at', 'next_asked_at'):
            batch.drop_column(name)
    with op.batch_alter_table('watched_channels') as batch:
        for name in ('waiting', 'resolve_target_seconds', 'next_target_seconds',
                     'burst_seconds', 'noise_removed', 'noise_added', 'noise'):
            batch.drop_column(name)
