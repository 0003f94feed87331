"""daily views: raw page views folded into daily counts, then deleted after a retention

``funnel_daily_views`` holds page views per day (of the report's time zone), page,
variant, place version, source, device and country, with an index that gives a
period's views, and per page, without reading the table; ``funnel_folds`` the highest
``funnel_visits.id`` folded into it (``flask_funnel.capture.view_retention``). An index
on ``funnel_visits.at`` finds the views older than the retention and a period's views
not folded yet: a btree on every database. A BRIN index would be a few kilobytes on
PostgreSQL, but it only narrows a search while the table's rows lie in time order on
disk, and deleting the oldest views lets new ones fill their pages: measured on 3
million views, one retention cycle made a day's lookup read 11,559 blocks instead of
896 (0.2 s instead of 9 ms), and every cycle widens its ranges further.

On SQLite, ``funnel_visits`` is rebuilt with AUTOINCREMENT, so that the id of a deleted
newest view is never handed out again (the fold would take the new view for one it
has folded). Views already stored keep their ids.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'funnel_daily_views',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('page_slug', sa.String(length=100), nullable=False),
        sa.Column('variant', sa.String(length=40), nullable=False),
        sa.Column('place_version', sa.String(length=40), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('device', sa.String(length=10), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('views', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'day', 'page_slug', 'variant', 'place_version', 'source', 'device', 'country',
            name=op.f('pk_funnel_daily_views'),
        ),
    )
    op.create_index(
        'ix_funnel_daily_views_page', 'funnel_daily_views', ['day', 'page_slug', 'views']
    )
    op.create_table(
        'funnel_folds',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('last_id', ID, nullable=False),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('folded_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_funnel_folds')),
    )
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table(
            'funnel_visits', recreate='always', table_kwargs={'sqlite_autoincrement': True}
        ) as batch_op:
            batch_op.create_index('ix_funnel_visits_at', ['at'], unique=False)
    else:
        op.create_index('ix_funnel_visits_at', 'funnel_visits', ['at'], unique=False)


def downgrade():
    # SQLite's AUTOINCREMENT stays: the older code never minds it.
    op.drop_index('ix_funnel_visits_at', table_name='funnel_visits')
    op.drop_table('funnel_folds')
    op.drop_table('funnel_daily_views')
