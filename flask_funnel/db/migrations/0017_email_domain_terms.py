"""email domain search terms: each lead's email domains, for prefix search

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql, sqlite

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BATCH = 10_000
MAX_TERM = 64

terms = sa.table(
    'funnel_lead_terms', sa.column('term'), sa.column('lead_id'),
    sa.column('created_at', sa.DateTime()),
)


def domain_terms(email):
    """The terms flask_funnel.leads.name_terms.domain_terms makes: ``ann@mail.example.org``
    -> ``@mail.example.org``, ``@example.org``."""
    if not email or '@' not in email:
        return []
    labels = email.rpartition('@')[2].split('.')
    return list(dict.fromkeys(
        ('@' + '.'.join(labels[i:]))[:MAX_TERM]
        for i in range(max(len(labels) - 1, 1))
        if labels[i]
    ))


def _insert_new(dialect):
    """An insert that leaves a term already there alone (a capture by a newer release
    may have indexed a lead before this revision ran)."""
    if dialect in ('mysql', 'mariadb'):
        statement = mysql.insert(terms)
        return statement.on_duplicate_key_update(term=statement.inserted.term)
    insert = postgresql.insert if dialect == 'postgresql' else sqlite.insert
    return insert(terms).on_conflict_do_nothing(index_elements=['term', 'lead_id'])


def upgrade():
    # Index the domains of the leads already there that are not suspected bots (those
    # are indexed when released), in batches.
    leads = sa.table(
        'funnel_leads', sa.column('id'), sa.column('email'), sa.column('quarantined'),
        sa.column('created_at', sa.DateTime()),
    )
    connection = op.get_bind()
    statement = _insert_new(connection.dialect.name)
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(leads.c.id, leads.c.email, leads.c.created_at)
            .where(leads.c.id > last_id, leads.c.quarantined.is_(False))
            .order_by(leads.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = [
            {'term': term, 'lead_id': lead_id, 'created_at': created_at}
            for lead_id, email, created_at in rows
            for term in domain_terms(email)
        ]
        if values:
            connection.execute(statement, values)
        last_id = rows[-1][0]


def downgrade():
    # Name terms are made of word characters only: no name's term starts with '@'.
    op.execute(terms.delete().where(terms.c.term.like('@%')))
