"""rota: teams, members, leave, support weeks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:06:26.293034
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('rota_teams',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('start_rule', sa.String(length=16), nullable=False),
    sa.Column('pick_rule', sa.String(length=16), nullable=False),
    sa.Column('holidays', sa.String(length=16), nullable=True),
    sa.Column('lead', sa.String(length=64), nullable=True),
    sa.Column('group', sa.String(length=64), nullable=True),
    sa.Column('api_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_teams')),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_rota_team_name')
    )
    op.create_table('rota_leave',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('first_day', sa.String(length=10), nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['rota_teams.id'], name=op.f('fk_rota_leave_team_id_rota_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_leave'))
    )
    op.create_table('rota_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('prod', sa.Boolean(), nullable=False),
    sa.Column('new', sa.Boolean(), nullable=False),
    sa.Column('observed', sa.Boolean(), nullable=False),
    sa.Column('days', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['rota_teams.id'], name=op.f('fk_rota_members_team_id_rota_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_members')),
    sa.UniqueConstraint('team_id', 'user', name='uq_rota_member')
    )
    op.create_table('support_weeks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first', sa.String(length=64), nullable=False),
    sa.Column('second', sa.String(length=64), nullable=False),
    sa.Column('fallback', sa.String(length=64), nullable=True),
    sa.Column('fallback_days', sa.JSON(), nullable=False),
    sa.Column('observer', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handoff_by', sa.String(length=64), nullable=True),
    sa.Column('handoff_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['rota_teams.id'], name=op.f('fk_support_weeks_team_id_rota_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_weeks')),
    sa.UniqueConstraint('team_id', 'starts_at', name='uq_support_week')
    )
    


def downgrade() -> None:
    
    op.drop_table('support_weeks')
    op.drop_table('rota_members')
    op.drop_table('rota_leave')
    op.drop_table('rota_teams')
    
