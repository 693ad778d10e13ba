"""index requests by requester and by alert fingerprint

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 13:26:06.286278
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_index('ix_requests_requester', 'requests', ['workspace_id', 'channel_id', 'requester'], unique=False)
    op.create_index('ix_requests_fingerprint', 'requests', ['workspace_id', 'channel_id', 'fingerprint'], unique=False)
    


def downgrade() -> None:
    
    op.drop_index('ix_requests_fingerprint', table_name='requests')
    op.drop_index('ix_requests_requester', table_name='requests')
    
