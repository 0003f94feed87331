"""times to the microsecond: MariaDB and MySQL keep the fraction of the second

Their plain ``DATETIME`` holds whole seconds: a lead created at 12:00:00.7 read back as
created at 12:00:00, before the moment it was made, and events of one second lost their
order. Every time column becomes ``DATETIME(6)``; SQLite and PostgreSQL already keep
microseconds, so nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-17

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# table: [(column, nullable)]
COLUMNS = {
    'funnel_admins': [('created_at', False), ('last_sign_in_at', True)],
    'funnel_audit': [('at', False)],
    'funnel_leads': [
        ('stage_changed_at', False),
        ('email_verified_at', True),
        ('created_at', False),
        ('updated_at', False),
        ('reached_mql_at', True),
        ('reached_sal_at', True),
        ('reached_sql_at', True),
        ('reached_customer_at', True),
        ('reached_repeat_customer_at', True),
    ],
    'funnel_pending_sign_ins': [('expires_at', False)],
    'funnel_step_views': [('at', False)],
    'funnel_visitors': [('first_seen_at', False)],
    'funnel_follow_ups': [('due_at', False), ('created_at', False), ('done_at', True)],
    'funnel_identities': [('linked_at', False), ('last_seen_at', False)],
    'funnel_lead_terms': [('created_at', False)],
    'funnel_notes': [('created_at', False)],
    'funnel_purchases': [('at', False), ('created_at', False)],
    'funnel_stage_changes': [('at', False)],
    'funnel_visits': [('at', False)],
    'funnel_submissions': [('created_at', False)],
    'funnel_consents': [('given_at', False), ('withdrawn_at', True)],
}


def upgrade():
    _datetime('DATETIME(6)')


def downgrade():
    _datetime('DATETIME')


def _datetime(column_type):
    if op.get_bind().dialect.name not in ('mysql', 'mariadb'):
        return
    for table, columns in COLUMNS.items():
        # One statement per table: MariaDB rebuilds it once.
        changes = ', '.join(
            f"MODIFY `{column}` {column_type} {'NULL' if nullable else 'NOT NULL'}"
            for column, nullable in columns
        )
        op.execute(f'ALTER TABLE {table} {changes}')
