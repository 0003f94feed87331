"""visitor population: which visitors signed up, and which were suspected bots

The dashboard divided the leads created in a period by the visitors first seen in it,
two different sets of people: "visit → lead 225%" on real traffic. A visitor now
keeps the lead of its first real submission (``lead_id``) and whether all its
submissions were quarantined (``quarantined``), so that the visitor → lead rate is
the share of a period's visitors who signed up, and a suspected bot is left out of
visitors, quiz steps and leads alike. Quiz steps are counted from a page's visitors:
a new index finds a visitor's steps. The daily counts now count visitors too, kept by
triggers on funnel_visitors like those on funnel_leads.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

"""
import sqlalchemy as sa
from alembic import op

from flask_funnel.db import daily_counts
from flask_funnel.db.types import Id

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')
REPORT_COLUMNS = ['first_seen_at', 'device', 'page_slug', 'variant', 'source', 'country', 'city', 'place_version']


def upgrade():
    op.drop_index('ix_funnel_visitors_report', table_name='funnel_visitors')
    with op.batch_alter_table('funnel_visitors', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('quarantined', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('lead_id', Id, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_funnel_visitors_lead_id_funnel_leads'), 'funnel_leads', ['lead_id'], ['id']
        )
        batch_op.create_index('ix_funnel_visitors_lead_id', ['lead_id'], unique=False)

    visitors = sa.table(
        'funnel_visitors', sa.column('visitor_id'), sa.column('lead_id'), sa.column('quarantined')
    )
    submissions = sa.table(
        'funnel_submissions', sa.column('id'), sa.column('visitor_id'), sa.column('lead_id'),
        sa.column('quarantined'),
    )
    of_visitor = submissions.c.visitor_id == visitors.c.visitor_id
    first_real = (
        sa.select(submissions.c.lead_id)
        .where(of_visitor, submissions.c.quarantined == sa.false())
        .order_by(submissions.c.id)
        .limit(1)
        .scalar_subquery()
    )
    op.execute(visitors.update().values(lead_id=first_real))
    op.execute(
        visitors.update()
        .where(visitors.c.lead_id.is_(None), sa.exists().where(of_visitor))
        .values(quarantined=True)
    )
    op.create_index(
        'ix_funnel_visitors_report', 'funnel_visitors', [*REPORT_COLUMNS[:2], 'quarantined', *REPORT_COLUMNS[2:], 'lead_id']
    )

    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_step_views_page_at')
        batch_op.create_index(
            'ix_funnel_step_views_visitor', ['visitor_id', 'page_slug', 'step'], unique=False
        )
    daily_counts.install(op.get_bind(), MILESTONES)


def downgrade():
    daily_counts.uninstall(op.get_bind(), leads=False)
    counts = sa.table('funnel_daily_counts', sa.column('kind'))
    op.execute(counts.delete().where(counts.c.kind.in_(daily_counts.VISITOR_KINDS)))
    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_step_views_visitor')
        batch_op.create_index('ix_funnel_step_views_page_at', ['page_slug', 'at', 'step'], unique=False)

    op.drop_index('ix_funnel_visitors_report', table_name='funnel_visitors')
    with op.batch_alter_table('funnel_visitors', schema=None) as batch_op:
        # The foreign key first: MariaDB keeps the index while a foreign key needs it.
        batch_op.drop_constraint(batch_op.f('fk_funnel_visitors_lead_id_funnel_leads'), type_='foreignkey')
        batch_op.drop_index('ix_funnel_visitors_lead_id')
        batch_op.drop_column('lead_id')
        batch_op.drop_column('quarantined')
    op.create_index('ix_funnel_visitors_report', 'funnel_visitors', REPORT_COLUMNS)
