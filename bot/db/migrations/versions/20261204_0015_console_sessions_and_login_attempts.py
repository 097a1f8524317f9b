"""console sessions and login attempts

Server-side console sessions (only a hash of each token), login attempts counted in the
database so the limit holds across processes, and audit rows for account events: a nullable
counsellor, an actor for logins and `tsunagu user` commands, and the account concerned.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_why', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_console_sessions_counsellor_id_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash')),
    )
    op.create_index('ix_console_sessions_counsellor', 'console_sessions',
                    ['counsellor_id', 'revoked_at'])

    op.create_table(
        'login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('name_key', sa.String(length=64), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_login_attempts_counsellor_id_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    op.create_index('ix_login_attempts_address', 'login_attempts', ['address', 'at'])
    op.create_index('ix_login_attempts_name', 'login_attempts', ['name_key', 'at'])
    op.create_index('ix_login_attempts_counsellor', 'login_attempts', ['counsellor_id', 'at'])

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('counsellor_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('actor', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_log_account_id_counsellors'),
                                    'counsellors', ['account_id'], ['id'])


def downgrade() -> None:
    # Account events without a counsellor cannot stay in the old table.
    op.execute("DELETE FROM audit_log WHERE counsellor_id IS NULL")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_log_account_id_counsellors'),
                                 type_='foreignkey')
        batch_op.drop_column('account_id')
        batch_op.drop_column('actor')
        batch_op.alter_column('counsellor_id', existing_type=sa.Integer(), nullable=False)

    op.drop_index('ix_login_attempts_counsellor', table_name='login_attempts')
    op.drop_index('ix_login_attempts_name', table_name='login_attempts')
    op.drop_index('ix_login_attempts_address', table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_index('ix_console_sessions_counsellor', table_name='console_sessions')
    op.drop_table('console_sessions')
