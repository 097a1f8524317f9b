"""support after the first reply: plans, coordination meetings, monitoring

A case whose resident agreed a plan stays open (支援中): the plan (goals in their words, the
counsellor in charge, months between monitorings, the next date), the 支援調整会議 held about it
(roles, decision) and each monitoring (summary, decision: continue, replan, close).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'support_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('goals', sa.Text(), nullable=False),
        sa.Column('agreed_on', sa.Date(), nullable=False),
        sa.Column('monitor_months', sa.Integer(), nullable=False),
        sa.Column('next_monitoring_on', sa.Date(), nullable=True),
        sa.Column('ask_resident', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_support_plans_due', 'support_plans', ['ended_at', 'next_monitoring_on'])
    op.create_index('ix_support_plans_case', 'support_plans', ['case_id'])
    op.create_table(
        'case_meetings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('decision', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_meetings_case_id', 'case_meetings', ['case_id'])
    op.create_table(
        'monitoring_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['plan_id'], ['support_plans.id']),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_monitoring_records_case_id', 'monitoring_records', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_monitoring_records_case_id', table_name='monitoring_records')
    op.drop_table('monitoring_records')
    op.drop_index('ix_case_meetings_case_id', table_name='case_meetings')
    op.drop_table('case_meetings')
    op.drop_index('ix_support_plans_case', table_name='support_plans')
    op.drop_index('ix_support_plans_due', table_name='support_plans')
    op.drop_table('support_plans')
