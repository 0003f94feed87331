"""daily steps: quiz steps reached per first-seen day of the browser, kept by triggers

A page's quiz drop-off joined every browser first seen in the period to every step it
reached: 2 s for 30 days and 6.5 s for a year on a busy site (17 million browsers, 8
million steps). ``funnel_daily_steps`` holds, per UTC day, page and step, how many of
the day's new browsers reached the step on the page they were first seen on; triggers
on ``funnel_step_views`` and ``funnel_visitors`` keep it
(``flask_funnel.db.daily_counts``), and this revision counts the steps already there.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10

"""
import sqlalchemy as sa
from alembic import op

from flask_funnel.db import daily_counts

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'funnel_daily_steps',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('page_slug', sa.String(length=100), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('visitors', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'page_slug', 'step', name=op.f('pk_funnel_daily_steps')),
    )
    daily_counts.install_step_counts(op.get_bind())


def downgrade():
    daily_counts.uninstall_step_counts(op.get_bind())
    op.drop_table('funnel_daily_steps')
