"""audit log, case outcomes, counsellor replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:11:56.990600
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_audit_log_case_id_cases')),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'], name=op.f('fk_audit_log_counsellor_id_counsellors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_case', ['case_id', 'at'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('outcome_detail', sa.String(length=200), nullable=True))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counsellor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_counsellor_id_counsellors'), 'counsellors', ['counsellor_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_counsellor_id_counsellors'), type_='foreignkey')
        batch_op.drop_column('counsellor_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('outcome_detail')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_case')

    op.drop_table('audit_log')
