"""Microsoft Teams: conversation references and people behind neutral ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:50:00.000000
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'teams_conversations',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('channel_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('conversation_id', sa.String(length=400), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('service_url', sa.String(length=400), nullable=False),
        sa.Column('team_id', sa.String(length=400), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('bot_id', sa.String(length=200), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_teams_conversations')),
        sa.UniqueConstraint('workspace_id', 'channel_id', name='uq_teams_conversation'),
    )
    op.create_table(
        'teams_people',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('teams_id', sa.String(length=400), nullable=False),
        sa.Column('aad_object_id', sa.String(length=64), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_teams_people')),
        sa.UniqueConstraint('workspace_id', 'user_id', name='uq_teams_person'),
    )


def downgrade() -> None:
    op.drop_table('teams_people')
    op.drop_table('teams_conversations')
