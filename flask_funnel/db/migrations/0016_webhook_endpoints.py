"""webhook endpoints added by an admin in the admin area

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

"""
import sqlalchemy as sa
from alembic import op

import flask_funnel.db.types

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'funnel_webhook_endpoints',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('events', sa.String(length=200), nullable=False),
        sa.Column('created_at', flask_funnel.db.types.UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_webhook_endpoints')),
        sa.UniqueConstraint('name', name=op.f('uq_funnel_webhook_endpoints_name')),
    )


def downgrade():
    op.drop_table('funnel_webhook_endpoints')
