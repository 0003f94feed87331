"""lost reasons: why a lead was lost, from the site's list (FUNNEL_LOST_REASONS)

A move to lost keeps its reason in a column of its own, beside the free text, so the
dashboard can count lost leads by reason; the index of moves by stage and time now
covers where they came from and why (about 100,000 moves to lost a month at a million
leads are counted from it alone).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('funnel_stage_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lost_reason', sa.String(length=60), nullable=True))
        batch_op.drop_index('ix_funnel_stage_changes_to_stage_at')
        batch_op.create_index(
            'ix_funnel_stage_changes_to_stage_at',
            ['to_stage', 'at', 'from_stage', 'lost_reason', 'lead_id'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('funnel_stage_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_stage_changes_to_stage_at')
        batch_op.create_index('ix_funnel_stage_changes_to_stage_at', ['to_stage', 'at'], unique=False)
        batch_op.drop_column('lost_reason')
