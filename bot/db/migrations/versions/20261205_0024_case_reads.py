"""case reads: what each counsellor has seen of a case, for unread counts and new marks

One row per counsellor and case with the moment they last looked; the resident's messages on
the case after it are new to them. The case's messages get an index by case and time, which
those counts read.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 07:10:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_reads',
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'], ),
        sa.PrimaryKeyConstraint('counsellor_id', 'case_id'),
    )
    op.create_index('ix_case_messages_case', 'case_messages', ['case_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_case_messages_case', table_name='case_messages')
    op.drop_table('case_reads')
