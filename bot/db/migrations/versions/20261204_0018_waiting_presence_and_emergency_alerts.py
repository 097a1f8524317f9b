"""presence, the wait told to residents, call-backs, emergency alerts and records

A conversation keeps its newest markAsReadToken; counsellors say whether they are on duty (`counsellors.presence`); a case keeps the wait the
resident was told (first and last), a call-back request and when the resident gave up waiting;
an imminent case raises an alert that two people acknowledge (`emergency_alerts`,
`emergency_acks`) and keeps what was done about it (`emergency_actions`). Console pages are
notified of writes to the new tables and to counsellors (presence).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 14:00:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# Frozen here on purpose, like 0008's list.
NOTIFIED = ("counsellors", "emergency_alerts", "emergency_acks", "emergency_actions")


def upgrade() -> None:
    with op.batch_alter_table('counsellors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('presence', sa.String(length=16), nullable=False,
                                      server_default='off'))
        batch_op.add_column(sa.Column('presence_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_token', sa.String(length=255), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wait_first', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('wait_told', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('callback', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('gave_up_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'emergency_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=64), nullable=False),
        sa.Column('raised_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('escalate_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('escalation', sa.String(length=16), nullable=False, server_default='none'),
        sa.Column('escalation_attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('escalation_next_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('escalated_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_emergency_alerts_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_alerts')),
    )
    op.create_index('ix_emergency_alerts_open', 'emergency_alerts',
                    ['acknowledged_at', 'escalate_at'], unique=False)
    op.create_index('ix_emergency_alerts_case', 'emergency_alerts', ['case_id'], unique=False)
    op.create_table(
        'emergency_acks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['emergency_alerts.id'],
                                name=op.f('fk_emergency_acks_alert_id_emergency_alerts')),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_emergency_acks_counsellor_id_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_acks')),
    )
    op.create_index('ux_emergency_acks', 'emergency_acks', ['alert_id', 'counsellor_id'],
                    unique=True)
    op.create_table(
        'emergency_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('by_whom', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=200), nullable=True),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_emergency_actions_case_id_cases')),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_emergency_actions_counsellor_id_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_actions')),
    )
    op.create_index('ix_emergency_actions_case', 'emergency_actions', ['case_id', 'at'],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in NOTIFIED:  # the function is 0008's
            op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON "
                       f"{table} FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NOTIFIED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.drop_index('ix_emergency_actions_case', table_name='emergency_actions')
    op.drop_table('emergency_actions')
    op.drop_index('ux_emergency_acks', table_name='emergency_acks')
    op.drop_table('emergency_acks')
    op.drop_index('ix_emergency_alerts_case', table_name='emergency_alerts')
    op.drop_index('ix_emergency_alerts_open', table_name='emergency_alerts')
    op.drop_table('emergency_alerts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('gave_up_at')
        batch_op.drop_column('callback')
        batch_op.drop_column('wait_told')
        batch_op.drop_column('wait_first')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('read_token')
    with op.batch_alter_table('counsellors', schema=None) as batch_op:
        batch_op.drop_column('presence_at')
        batch_op.drop_column('presence')
