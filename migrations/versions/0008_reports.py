"""reports: service objectives and App Home viewers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:40:00
"""

from alembic import op
import sqlalchemy as sa



revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'service_objectives',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('channel_id', sa.String(length=64), nullable=False),
        sa.Column('objective', sa.Float(), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('spent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_objectives')),
        sa.UniqueConstraint('workspace_id', 'channel_id', name='uq_service_objective'),
    )
    op.create_table(
        'home_viewers',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_home_viewers')),
        sa.UniqueConstraint('workspace_id', 'user_id', name='uq_home_viewer'),
    )


def downgrade() -> None:
    op.drop_table('home_viewers')
    op.drop_table('service_objectives')
