"""outbox: order per conversation (thread, message, DM), not per channel

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:40:00.000000

Rows already queued keep the old rule (their whole destination is one conversation).
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('order_key', sa.String(length=200), nullable=True))
    op.execute("UPDATE outbox SET order_key = destination WHERE sent_at IS NULL")
    op.create_index('ix_outbox_order', 'outbox', ['sent_at', 'order_key', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_order', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('order_key')
