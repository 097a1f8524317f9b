"""cases may forbid follow-ups

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 23:53:54.130586
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_followups', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('no_followups')

