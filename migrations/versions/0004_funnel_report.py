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

# The stages after lead, in funnel order (flask_funnel.stages.MILESTONES when written).
MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')


def upgrade():
    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sa.String(length=40), nullable=True))
        for stage in MILESTONES:
            batch_op.add_column(sa.Column(f'reached_{stage}_at', sa.DateTime(), nullable=True))

    # A lead reached a stage when it first moved to it or to any later one.
    changes = sa.table(
        'funnel_stage_changes', sa.column('lead_id'), sa.column('to_stage'),
        sa.column('at', sa.DateTime()),
    )
    leads = sa.table(
        'funnel_leads', sa.column('id'),
        *(sa.column(f'reached_{stage}_at', sa.DateTime()) for stage in MILESTONES),
    )
    for n, stage in enumerate(MILESTONES):
        onwards = MILESTONES[n:]
        first = (
            sa.select(sa.func.min(changes.c.at))
            .where(changes.c.lead_id == leads.c.id, changes.c.to_stage.in_(onwards))
            .scalar_subquery()
        )
        reached = sa.select(changes.c.lead_id).where(changes.c.to_stage.in_(onwards))
        op.execute(
            leads.update().where(leads.c.id.in_(reached)).values({f'reached_{stage}_at': first})
        )

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.create_index(
            'ix_funnel_leads_cohort',
            ['quarantined', 'created_at', *(f'reached_{stage}_at' for stage in MILESTONES)],
            unique=False,
        )
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
        batch_op.create_index(
            'ix_funnel_visits_at', ['at', 'visitor_id', 'device', 'source', 'country', 'city'], unique=False
        )

    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.create_index(
            'ix_funnel_step_views_page_at', ['page_slug', 'at', 'step'], unique=False
        )


def downgrade():
    with op.batch_alter_table('funnel_step_views', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_step_views_page_at')

    with op.batch_alter_table('funnel_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_visits_at')
        batch_op.drop_index('ix_funnel_visits_page')
        batch_op.create_index('ix_funnel_visits_page_slug_at', ['page_slug', 'at'], unique=False)
        batch_op.drop_column('variant')

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        for stage in reversed(MILESTONES):
            batch_op.drop_index(f'ix_funnel_leads_reached_{stage}')
        batch_op.drop_index('ix_funnel_leads_open')
        batch_op.drop_index('ix_funnel_leads_cohort')
        for stage in reversed(MILESTONES):
            batch_op.drop_column(f'reached_{stage}_at')
        batch_op.drop_column('variant')
