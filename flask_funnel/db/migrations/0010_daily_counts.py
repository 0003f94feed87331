"""daily counts: real leads per stage and UTC day, kept by triggers on funnel_leads

The dashboard counted a million index entries to draw the month table and the forecast
(364 ms on PostgreSQL at a million leads, against a 250 ms target); it now adds up a row
per stage and day. The triggers live in ``flask_funnel.db.daily_counts``; this revision
installs the ones of its time (the milestones below) and counts the existing leads.

Revision ID: 0010
Revises: 0009
Create Date: 2027-03-01

"""
import sqlalchemy as sa
from alembic import op

from flask_funnel.db import daily_counts

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')


def upgrade():
    op.create_table(
        'funnel_daily_counts',
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('leads', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'stage', 'day', name=op.f('pk_funnel_daily_counts')),
    )
    daily_counts.install_lead_counts(op.get_bind(), MILESTONES)


def downgrade():
    daily_counts.uninstall(op.get_bind(), visitors=False)
    op.drop_table('funnel_daily_counts')
