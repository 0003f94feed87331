"""sign-in identities: how each lead's email was obtained, linked Google accounts,
sign-ins under way

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MILESTONES = ('mql', 'sal', 'sql', 'customer', 'repeat_customer')
COHORT = ['quarantined', 'created_at', *(f'reached_{stage}_at' for stage in MILESTONES),
          'landing_page', 'variant', 'country', 'city', 'source']


def upgrade():
    op.create_table('funnel_identities',
    sa.Column('id', Id, nullable=False),
    sa.Column('lead_id', Id, nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('linked_how', sa.String(length=20), nullable=False),
    sa.Column('linked_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['funnel_leads.id'], name=op.f('fk_funnel_identities_lead_id_funnel_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_identities')),
    sa.UniqueConstraint('issuer', 'subject', name='uq_funnel_identities_subject')
    )
    with op.batch_alter_table('funnel_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_identities_lead_id'), ['lead_id'], unique=False)

    op.create_table('funnel_pending_sign_ins',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_funnel_pending_sign_ins'))
    )
    with op.batch_alter_table('funnel_pending_sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_pending_sign_ins_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signup_method', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_funnel_leads_cohort')
    # Every lead so far typed its email, or came from an import.
    leads = sa.table('funnel_leads', sa.column('signup_method'), sa.column('origin_key'))
    op.execute(leads.update().where(leads.c.origin_key.like('import:%')).values(signup_method='import'))
    op.execute(leads.update().where(leads.c.signup_method.is_(None)).values(signup_method='typed'))
    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.create_index('ix_funnel_leads_cohort', [*COHORT, 'signup_method'], unique=False)

    with op.batch_alter_table('funnel_submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signup_method', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('identity_id', Id, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_funnel_submissions_identity_id_funnel_identities'),
            'funnel_identities', ['identity_id'], ['id'],
        )
    submissions = sa.table('funnel_submissions', sa.column('signup_method'))
    op.execute(submissions.update().values(signup_method='typed'))


def downgrade():
    with op.batch_alter_table('funnel_submissions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_funnel_submissions_identity_id_funnel_identities'), type_='foreignkey'
        )
        batch_op.drop_column('identity_id')
        batch_op.drop_column('signup_method')

    with op.batch_alter_table('funnel_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_leads_cohort')
        batch_op.create_index('ix_funnel_leads_cohort', COHORT, unique=False)
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('signup_method')

    # Dropping a table drops its indexes (MariaDB refuses to drop first one a foreign key needs).
    op.drop_table('funnel_pending_sign_ins')

    op.drop_table('funnel_identities')
