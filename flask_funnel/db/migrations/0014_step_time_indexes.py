"""step times: each stage's index also holds when the stage before was reached

The dashboard's "time from each stage to the next" read every lead that reached a
stage in the period from the table (43 ms of the dashboard at a million leads); the
index it finds them by now covers it. Plain CREATE INDEX, no table rebuild, so the
daily counts' triggers on funnel_leads stay.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

STEPS = (
    ('created_at', 'mql'),
    ('reached_mql_at', 'sal'),
    ('reached_sal_at', 'sql'),
    ('reached_sql_at', 'customer'),
    ('reached_customer_at', 'repeat_customer'),
)


def upgrade():
    for before, stage in STEPS:
        name = f'ix_funnel_leads_reached_{stage}'
        op.drop_index(name, table_name='funnel_leads')
        op.create_index(name, 'funnel_leads', ['quarantined', f'reached_{stage}_at', before])


def downgrade():
    for _, stage in STEPS:
        name = f'ix_funnel_leads_reached_{stage}'
        op.drop_index(name, table_name='funnel_leads')
        op.create_index(name, 'funnel_leads', ['quarantined', f'reached_{stage}_at'])
