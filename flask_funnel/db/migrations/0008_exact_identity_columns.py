"""exact identity columns: emails, accounts and references compared byte for byte

MariaDB and MySQL compare text with the database's default collation, which ignores
accents (``jose@`` = ``josé@``, ``anna`` = ``ånna``): two people became one lead. Their
identifying columns now use the binary collation; SQLite and PostgreSQL already compare
exactly, so nothing changes there.

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-03

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# (table, column, length, nullable)
COLUMNS = [
    ('funnel_leads', 'email', 254, False),
    ('funnel_admins', 'email', 254, False),
    ('funnel_submissions', 'idempotency_key', 64, False),
    ('funnel_purchases', 'reference', 100, True),
    ('funnel_identities', 'issuer', 255, False),
    ('funnel_identities', 'subject', 255, False),
    ('funnel_identities', 'email', 254, False),
    ('funnel_pending_sign_ins', 'key', 200, False),
]


def upgrade():
    _collate('utf8mb4_bin')


def downgrade():
    _collate(None)


def _collate(collation):
    if op.get_bind().dialect.name not in ('mysql', 'mariadb'):
        return
    for table, column, length, nullable in COLUMNS:
        collate = f' COLLATE {collation}' if collation else ''
        null = 'NULL' if nullable else 'NOT NULL'
        op.execute(
            f'ALTER TABLE {table} MODIFY `{column}` VARCHAR({length})'
            f' CHARACTER SET utf8mb4{collate} {null}'
        )
