"""drafts are tried in the console: the emulator's preview users go

Administrators try a draft on a console page, in the web process (handoff/console/rehearsal.py);
no LINE user talks to a draft any more, so the table that mapped emulator users to drafts goes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import bot.db.models


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('content_previews')


def downgrade() -> None:
    op.create_table('content_previews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_user_id', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['counsellors.id'], name=op.f('fk_content_previews_author_id_counsellors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_previews')),
    sa.UniqueConstraint('line_user_id', name=op.f('uq_content_previews_line_user_id'))
    )
