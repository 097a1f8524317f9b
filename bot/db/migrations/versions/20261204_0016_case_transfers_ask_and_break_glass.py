"""case transfers ask the resident, break-glass grants, an end for unconsented talks

A transfer to another team waits for the resident's yes (`cases.transfer_request`); a counsellor
of another team may open a case for life safety, with a reason (`case_access_grants`).
Conversations that never reached consent now have an end date like withdrawn ones: existing ones
get their last message plus the default retention period (90 days, content/places.yaml).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 08:00:00
"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_request', sa.JSON(), nullable=True))
    op.create_table(
        'case_access_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('counsellor_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('granted_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_access_grants_case_id_cases')),
        sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'],
                                name=op.f('fk_case_access_grants_counsellor_id_counsellors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_access_grants')),
    )
    op.create_index('ix_case_access_grants', 'case_access_grants',
                    ['counsellor_id', 'case_id', 'expires_at'], unique=False)
    _give_unconsented_conversations_an_end()


def _give_unconsented_conversations_an_end() -> None:
    conversations = sa.table(
        'conversations', sa.column('id', sa.Integer()), sa.column('consent', sa.JSON()),
        sa.column('last_event_at', UTCDateTime(timezone=True)),
        sa.column('delete_after', UTCDateTime(timezone=True)),
        sa.column('erased_at', UTCDateTime(timezone=True)))
    bind = op.get_bind()
    rows = bind.execute(sa.select(conversations.c.id, conversations.c.consent,
                                  conversations.c.last_event_at).where(
        conversations.c.delete_after.is_(None), conversations.c.erased_at.is_(None),
        conversations.c.last_event_at.is_not(None))).all()
    for row_id, consent, last in rows:
        if ((consent or {}).get('counsellor') or {}).get('granted'):
            continue
        bind.execute(conversations.update().where(conversations.c.id == row_id).values(
            delete_after=last + timedelta(days=90)))


def downgrade() -> None:
    op.drop_index('ix_case_access_grants', table_name='case_access_grants')
    op.drop_table('case_access_grants')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('transfer_request')
