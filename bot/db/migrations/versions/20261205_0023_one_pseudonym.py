"""one pseudonym per conversation: a returning resident keeps the name counsellors know

A new case of the same conversation takes the conversation's pseudonym instead of a new one,
so the desk recognises someone who comes back. Existing conversations take their latest case's.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 07:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('pseudonym', sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE conversations SET pseudonym = (SELECT c.pseudonym FROM cases c "
        "WHERE c.conversation_id = conversations.id ORDER BY c.id DESC LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('pseudonym')
