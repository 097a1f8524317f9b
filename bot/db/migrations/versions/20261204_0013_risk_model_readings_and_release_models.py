"""risk model readings and release models

Each risk assessment keeps what the statistical model read beside the rules' hits (its score,
the features that pushed it, the window of bubbles read together), and each content release
keeps the model trained from its corpus, as data, so that every process serves that model.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 05:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sa.JSON(), nullable=True))
    with op.batch_alter_table('content_releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_model', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('content_releases', schema=None) as batch_op:
        batch_op.drop_column('risk_model')
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.drop_column('model')
