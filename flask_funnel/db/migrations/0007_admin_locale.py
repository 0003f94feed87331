"""admin locale: the language each admin reads the admin area in

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-20

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # None is English, the source language: every existing admin keeps reading English.
    with op.batch_alter_table('funnel_admins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('funnel_admins', schema=None) as batch_op:
        batch_op.drop_column('locale')
