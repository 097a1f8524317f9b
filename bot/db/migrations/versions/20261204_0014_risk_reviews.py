"""risk reviews

Counsellors mark a message's risk level as wrong; administrators review the marks and may add
a paraphrase to the corpus.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 05:20:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'risk_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('assessed', sa.String(length=16), nullable=False),
        sa.Column('suggested', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assessment_id'], ['risk_assessments.id'],
                                name=op.f('fk_risk_reviews_assessment_id_risk_assessments')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_risk_reviews_case_id_cases')),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_risk_reviews_counsellor_id_counsellors')),
        sa.ForeignKeyConstraint(['reviewed_by'], ['counsellors.id'],
                                name=op.f('fk_risk_reviews_reviewed_by_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_reviews')),
    )
    op.create_index('ix_risk_reviews_status', 'risk_reviews', ['status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_risk_reviews_status', table_name='risk_reviews')
    op.drop_table('risk_reviews')
