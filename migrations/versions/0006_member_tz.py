"""rota member time zone

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 13:47:27.779873
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.add_column('rota_members', sa.Column('tz', sa.String(length=64), nullable=True))
    


def downgrade() -> None:
    
    with op.batch_alter_table('rota_members') as batch:
        batch.drop_column('tz')
    
