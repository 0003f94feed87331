"""daily losses: moves to lost per UTC day, stage and reason, kept by triggers

The dashboard's "why we lose them" panel counted every move to lost in the period
from an index (230 ms of the dashboard at a million leads, 100,000 losses a month);
it now adds up a few rows a day. Triggers on funnel_stage_changes keep the counts,
and one on funnel_leads counts a lead's losses out when it is quarantined and in
again when it is released (``flask_funnel.db.daily_counts``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""
import sqlalchemy as sa
from alembic import op

from flask_funnel.db import daily_counts

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'funnel_daily_losses',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('from_stage', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=60), nullable=False),
        sa.Column('moves', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'day', 'from_stage', 'reason', name=op.f('pk_funnel_daily_losses')
        ),
    )
    daily_counts.install_losses(op.get_bind())


def downgrade():
    daily_counts.uninstall_losses(op.get_bind())
    op.drop_table('funnel_daily_losses')
