"""funnel report: when each lead first reached each stage, A/B variants, visit indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The stages after lead, in funnel order (flask_funnel.leads.stages.MILESTONES when written).
MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')
BATCH = 10_000


def _reached(first: dict) -> dict:
    """When a lead first reached each milestone, from its first arrival at each stage:
    reaching a stage passes every one before it."""
    reached, earliest = {}, None
    for stage in reversed(MILESTONES):
        if stage in first and (earliest is None or first[stage] < earliest):
            earliest = first[stage]
        reached[stage] = earliest
    return reached


def upgrade():
    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sa.String(length=40), nullable=True))
        for stage in MILESTONES:
            batch_op.add_column(sa.Column(f'reached_{stage}_at', sa.DateTime(), nullable=True))

    # A lead reached a stage when it first moved to it or to any later one. Read the
    # first arrival per lead and stage once (a correlated subquery per lead can make
    # SQLite scan the history for every lead), then update the leads in batches.
    changes = sa.table(
        'funnel_stage_changes', sa.column('lead_id'), sa.column('to_stage'),
        sa.column('at', sa.DateTime()),
    )
    leads = sa.table(
        'funnel_leads', sa.column('id'),
        *(sa.column(f'reached_{stage}_at', sa.DateTime()) for stage in MILESTONES),
    )
    connection = op.get_bind()
    arrivals = connection.execute(
        sa.select(changes.c.lead_id, changes.c.to_stage, sa.func.min(changes.c.at))
        .where(changes.c.to_stage.in_(MILESTONES))
        .group_by(changes.c.lead_id, changes.c.to_stage)
        .order_by(changes.c.lead_id)
    )
    update = (
        leads.update()
        .where(leads.c.id == sa.bindparam('lead_id'))
        .values({f'reached_{stage}_at': sa.bindparam(stage) for stage in MILESTONES})
    )
    batch, lead_id, first = [], None, {}
    for row_lead, stage, at in [*arrivals, (None, None, None)]:
        if row_lead != lead_id and lead_id is not None:
            batch.append({'lead_id': lead_id, **_reached(first)})
            first = {}
        if len(batch) == BATCH or (row_lead is None and batch):
            connection.execute(update, batch)
            batch = []
        lead_id = row_lead
        if stage is not None:
            first[stage] = at

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.create_index(
            'ix_funnel_leads_cohort',
            ['quarantined', 'created_at', *(f'reached_{stage}_at' for stage in MILESTONES),
             'landing_page', 'variant', 'country', 'city', 'source'],
            unique=False,
        )
        batch_op.create_index('ix_funnel_leads_created', ['quarantined', 'created_at'], unique=False)
        batch_op.create_index(
            'ix_funnel_leads_open', ['quarantined', 'stage', 'stage_changed_at'], unique=False
        )
        for stage in MILESTONES:
            batch_op.create_index(
                f'ix_funnel_leads_reached_{stage}', ['quarantined', f'reached_{stage}_at'],
                unique=False,
            )

    with op.batch_alter_table('funnel_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sa.String(length=40), nullable=True))
        batch_op.drop_index('ix_funnel_visits_page_slug_at')
        batch_op.create_index(
            'ix_funnel_visits_page', ['page_slug', 'at', 'variant', 'visitor_id', 'device'], unique=False
        )

    op.create_table('funnel_visitors',
    sa.Column('visitor_id', sa.String(length=32), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('page_slug', sa.String(length=100), nullable=False),
    sa.Column('variant', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('city', sa.String(length=128), nullable=True),
    sa.Column('device', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('visitor_id', name=op.f('pk_funnel_visitors'))
    )
    # Every visitor as their first visit saw them.
    visits = sa.table(
        'funnel_visits', sa.column('id'), sa.column('visitor_id'), sa.column('at'),
        sa.column('page_slug'), sa.column('variant'), sa.column('source'), sa.column('country'),
        sa.column('city'), sa.column('device'),
    )
    visitors = sa.table(
        'funnel_visitors', sa.column('visitor_id'), sa.column('first_seen_at'),
        sa.column('page_slug'), sa.column('variant'), sa.column('source'), sa.column('country'),
        sa.column('city'), sa.column('device'),
    )
    first_visits = sa.select(sa.func.min(visits.c.id)).group_by(visits.c.visitor_id)
    op.execute(
        visitors.insert().from_select(
            [c.name for c in visitors.c],
            sa.select(
                visits.c.visitor_id, visits.c.at, visits.c.page_slug, visits.c.variant,
                visits.c.source, visits.c.country, visits.c.city, visits.c.device,
            ).where(visits.c.id.in_(first_visits)),
        )
    )
    with op.batch_alter_table('funnel_visitors', schema=None) as batch_op:
        batch_op.create_index(
            'ix_funnel_visitors_report',
            ['first_seen_at', 'device', 'page_slug', 'variant', 'source', 'country', 'city'],
            unique=False,
        )

    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.create_index(
            'ix_funnel_step_views_page_at', ['page_slug', 'at', 'step'], unique=False
        )


def downgrade():
    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_step_views_page_at')

    # Dropping a table drops its indexes (MariaDB refuses to drop first one a foreign key needs).
    op.drop_table('funnel_visitors')

    with op.batch_alter_table('funnel_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_visits_page')
        batch_op.create_index('ix_funnel_visits_page_slug_at', ['page_slug', 'at'], unique=False)
        batch_op.drop_column('variant')

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        for stage in reversed(MILESTONES):
            batch_op.drop_index(f'ix_funnel_leads_reached_{stage}')
        batch_op.drop_index('ix_funnel_leads_open')
        batch_op.drop_index('ix_funnel_leads_created')
        batch_op.drop_index('ix_funnel_leads_cohort')
        for stage in reversed(MILESTONES):
            batch_op.drop_column(f'reached_{stage}_at')
        batch_op.drop_column('variant')
