"""rota swaps

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:17:22.803243
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('rota_swaps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('week_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('out_user', sa.String(length=64), nullable=False),
    sa.Column('in_user', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('out_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['week_id'], ['support_weeks.id'], name=op.f('fk_rota_swaps_week_id_support_weeks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_swaps'))
    )
    


def downgrade() -> None:
    
    op.drop_table('rota_swaps')
    
