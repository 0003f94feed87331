"""outbox: webhook events written with the change that caused them, sent by a worker

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

"""
import sqlalchemy as sa
from alembic import op

import flask_funnel.db.types

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = flask_funnel.db.types.UTCDateTime()


def upgrade():
    op.create_table(
        'funnel_outbox',
        sa.Column('id', Id, nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=60), nullable=False),
        sa.Column('lead_id', Id, nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', Time, nullable=False),
        sa.Column('claimed_until', Time, nullable=True),
        sa.Column('claimed_by', sa.String(length=32), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', Time, nullable=False),
        sa.Column('delivered_at', Time, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_outbox')),
    )
    op.create_index('ix_funnel_outbox_due', 'funnel_outbox', ['state', 'next_attempt_at'])
    op.create_index('ix_funnel_outbox_lead', 'funnel_outbox', ['lead_id'])
    op.create_index('ix_funnel_outbox_created', 'funnel_outbox', ['created_at'])


def downgrade():
    op.drop_table('funnel_outbox')
