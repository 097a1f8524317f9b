"""index cases and follow-ups by conversation

Every message asks for its conversation's open case and scheduled follow-ups; without these
indexes each lookup scanned the tables, which grow with every resident.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 03:20:00
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_conversation', 'cases', ['conversation_id', 'status'])
    op.create_index('ix_followups_conversation', 'followups',
                    ['conversation_id', 'state', 'kind'])


def downgrade() -> None:
    op.drop_index('ix_followups_conversation', table_name='followups')
    op.drop_index('ix_cases_conversation', table_name='cases')
