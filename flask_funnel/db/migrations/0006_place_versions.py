"""place versions: which place rule's version of a page each visit, visitor and lead saw

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-10

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')
COHORT = ['quarantined', 'created_at', *(f'reached_{stage}_at' for stage in MILESTONES),
          'landing_page', 'variant', 'country', 'city', 'source', 'signup_method']
VISITORS_REPORT = ['first_seen_at', 'device', 'page_slug', 'variant', 'source', 'country', 'city']


def upgrade():
    # Everything seen so far was the default version (None), so nothing to fill in.
    with op.batch_alter_table('funnel_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_version', sa.String(length=40), nullable=True))

    with op.batch_alter_table('funnel_visitors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_version', sa.String(length=40), nullable=True))
        batch_op.drop_index('ix_funnel_visitors_report')
        batch_op.create_index(
            'ix_funnel_visitors_report', [*VISITORS_REPORT, 'place_version'], unique=False
        )

    # The cohort index covers every breakdown, the new one too.
    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_version', sa.String(length=40), nullable=True))
        batch_op.drop_index('ix_funnel_leads_cohort')
        batch_op.create_index('ix_funnel_leads_cohort', [*COHORT, 'place_version'], unique=False)


def downgrade():
    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_leads_cohort')
        batch_op.create_index('ix_funnel_leads_cohort', COHORT, unique=False)
        batch_op.drop_column('place_version')

    with op.batch_alter_table('funnel_visitors', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_visitors_report')
        batch_op.create_index('ix_funnel_visitors_report', VISITORS_REPORT, unique=False)
        batch_op.drop_column('place_version')

    with op.batch_alter_table('funnel_visits', schema=None) as batch_op:
        batch_op.drop_column('place_version')
