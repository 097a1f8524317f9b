"""consent, flow versions and cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:09:06.587447
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_versions')),
    sa.UniqueConstraint('flow_id', 'version', name=op.f('uq_flow_versions_flow_id'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('municipality', sa.String(length=64), nullable=True),
    sa.Column('consulting_for', sa.String(length=32), nullable=True),
    sa.Column('life_areas', sa.JSON(), nullable=False),
    sa.Column('urgent_needs', sa.JSON(), nullable=False),
    sa.Column('programmes', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('opened_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', bot.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_cases_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_queue', ['status', 'priority', 'opened_at'], unique=False)

    op.create_table('case_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_messages_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_messages'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        # Existing conversations start with no consent recorded.
        batch_op.add_column(sa.Column('consent', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('consent_withdrawn_at', bot.db.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delete_after', bot.db.models.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('delete_after')
        batch_op.drop_column('consent_withdrawn_at')
        batch_op.drop_column('consent')

    op.drop_table('case_messages')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_queue')

    op.drop_table('cases')
    op.drop_table('flow_versions')
