"""private case notes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:18:10.601045
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases')),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'], name=op.f('fk_case_notes_counsellor_id_counsellors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )


def downgrade() -> None:
    op.drop_table('case_notes')
