"""name search terms: the words of lead names, for prefix search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BATCH = 10_000
_WORD = re.compile(r"\w+")


def upgrade():
    terms = op.create_table('funnel_lead_terms',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['funnel_leads.id'], name=op.f('fk_funnel_lead_terms_lead_id_funnel_leads')),
    sa.PrimaryKeyConstraint('term', 'lead_id', name=op.f('pk_funnel_lead_terms'))
    )
    with op.batch_alter_table('funnel_lead_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_lead_terms_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('ix_funnel_lead_terms_term_created', ['term', 'created_at', 'lead_id'], unique=False)

    # Index the names already there (the same words flask_funnel.leads.name_terms makes), in batches.
    leads = sa.table(
        'funnel_leads', sa.column('id'), sa.column('name'), sa.column('quarantined'),
        sa.column('created_at', sa.DateTime()),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(leads.c.id, leads.c.name, leads.c.created_at)
            .where(leads.c.id > last_id, leads.c.name.is_not(None), leads.c.quarantined.is_(False))
            .order_by(leads.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = [
            {'term': term, 'lead_id': lead_id, 'created_at': created_at}
            for lead_id, name, created_at in rows
            for term in dict.fromkeys(w[:64] for w in _WORD.findall(name.casefold()))
        ]
        if values:
            connection.execute(terms.insert(), values)
        last_id = rows[-1][0]


def downgrade():
    # Dropping a table drops its indexes (MariaDB refuses to drop first one a foreign key needs).
    op.drop_table('funnel_lead_terms')
