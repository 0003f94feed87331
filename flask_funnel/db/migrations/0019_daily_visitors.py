"""daily visitors: browsers first seen per UTC day and group, kept by triggers

The dashboard split by page (or variant, place version, source, country) counted the
period's browsers from an index of every one: 1.9 million index entries for 30 days,
and a scan of 17 million browsers for a year, on a busy site. ``funnel_daily_visitors``
holds them per day, page, variant, place version, source and country, with how many
signed up; triggers on ``funnel_visitors`` keep it (``flask_funnel.db.daily_counts``),
and this revision counts the browsers already there. On PostgreSQL new browsers wait
while it counts (a few seconds a million).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10

"""
import sqlalchemy as sa
from alembic import op

from flask_funnel.db import daily_counts

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'funnel_daily_visitors',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('page_slug', sa.String(length=100), nullable=False),
        sa.Column('variant', sa.String(length=40), nullable=False),
        sa.Column('place_version', sa.String(length=40), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('visitors', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'day', 'kind', 'page_slug', 'variant', 'place_version', 'source', 'country',
            name=op.f('pk_funnel_daily_visitors'),
        ),
    )
    daily_counts.install_visitor_groups(op.get_bind())


def downgrade():
    daily_counts.uninstall_visitor_groups(op.get_bind())
    op.drop_table('funnel_daily_visitors')
