"""risk assessments and case risk

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:31:11.966813
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('risk_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_event_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('hits', sa.JSON(), nullable=False),
    sa.Column('lexicon_version', sa.String(length=32), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_risk_assessments_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['inbox_event_id'], ['inbox_events.id'], name=op.f('fk_risk_assessments_inbox_event_id_inbox_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_assessments')),
    sa.UniqueConstraint('inbox_event_id', name=op.f('uq_risk_assessments_inbox_event_id'))
    )
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_risk_conversation', ['conversation_id', 'level'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sa.String(length=16), server_default='consent', nullable=False))
        batch_op.add_column(sa.Column('risk_level', sa.String(length=16), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('risk_categories', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_level', sa.String(length=16), server_default='none', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('risk_level')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('risk_categories')
        batch_op.drop_column('risk_level')
        batch_op.drop_column('basis')

    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_conversation')

    op.drop_table('risk_assessments')
