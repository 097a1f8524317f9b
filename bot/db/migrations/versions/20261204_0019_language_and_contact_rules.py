"""the resident's language and contact rules; held and silent outbox rows

A conversation keeps the language the resident chose (None: standard Japanese) and the contact
rules they set (silent messages, allowed hours, a neutral notice, the quick exit's hold). An
outbox row can be held by those rules (`held` says why; it is never claimed while held) and
carries LINE's notificationDisabled (`silent`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 17:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('contact_rules', sa.JSON(), nullable=False,
                                      server_default='{}'))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('silent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_index('ix_outbox_held', 'outbox_messages', ['conversation_id', 'held'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_held', table_name='outbox_messages')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('silent')
        batch_op.drop_column('held')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('contact_rules')
        batch_op.drop_column('language')
