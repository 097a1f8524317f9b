"""conversations record their erasure

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 23:57:09.192819
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', bot.db.models.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

