"""referrals out and in: each つなぐ with its own consent, and how a resident came

A referral names the recipient and the purpose the resident agreed to in the chat (or the
life-safety basis), what was passed, how, and whether the recipient took the person in. Cases
and conversations keep the referral source (a department's link), and cases what the support
achieved (work found ...), both as counts for the outcome figures.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 23:50:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('destination', sa.String(length=32), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=False),
        sa.Column('basis', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=120), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('asked_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('identity', sa.JSON(), nullable=False, server_default='{}'),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_how', sa.String(length=16), nullable=True),
        sa.Column('accepted', sa.Boolean(), nullable=True),
        sa.Column('result_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_referrals_case', 'referrals', ['case_id'])
    op.create_index('ix_referrals_asked', 'referrals', ['asked_at'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('results', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('identity_request', sa.JSON(), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('source')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('identity_request')
        batch_op.drop_column('results')
        batch_op.drop_column('source')
    op.drop_index('ix_referrals_asked', table_name='referrals')
    op.drop_index('ix_referrals_case', table_name='referrals')
    op.drop_table('referrals')
