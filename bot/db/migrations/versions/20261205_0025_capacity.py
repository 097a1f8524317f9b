"""capacity: how many chats a counsellor takes at once

Set by a supervisor; empty means no limit. Claims and 「次の相談を担当する」 respect it, except for
a case in imminent danger.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 07:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('counsellors') as batch:
        batch.add_column(sa.Column('capacity', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('counsellors') as batch:
        batch.drop_column('capacity')
