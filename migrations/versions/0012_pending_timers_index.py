"""index pending timers by due instant (the sweep's claim query)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:55:00.000000

The sweep claims ``WHERE fired_at IS NULL AND due_at <= now ORDER BY due_at, id LIMIT n``.
With ix_timers_due (fired_at, due_at) PostgreSQL still sorted every due row before the
LIMIT, and with a backlog (a replica down for an hour) it chose a sequential scan and an
on-disk sort of all of them for each claim. A partial index on (due_at, id) over pending
timers only is read in claim order and stops at the LIMIT on both databases; fired timers
(most rows, over time) are not in it at all. ix_timers_due is dropped: every query it
served filters on ``fired_at IS NULL``.
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PENDING = sa.text("fired_at IS NULL")


def upgrade() -> None:
    op.create_index(
        'ix_timers_pending', 'timers', ['due_at', 'id'], unique=False,
        postgresql_where=PENDING, sqlite_where=PENDING,
    )
    op.drop_index('ix_timers_due', table_name='timers')


def downgrade() -> None:
    op.create_index('ix_timers_due', 'timers', ['fired_at', 'due_at'], unique=False)
    op.drop_index('ix_timers_pending', table_name='timers')
