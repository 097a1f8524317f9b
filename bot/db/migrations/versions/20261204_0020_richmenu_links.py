"""the rich menu each resident should see

A resident who chooses a language gets the rich menu drawn in it: the wish is written with the
event that made it (`richmenu_links`), and the sender links the menu at LINE, retrying until
LINE took it. None is the default menu (standard Japanese).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 21:30:00
"""
import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'richmenu_links',
        sa.Column('line_user_id', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('due', sa.Boolean(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('line_user_id'),
    )
    op.create_index('ix_richmenu_links_due', 'richmenu_links', ['due', 'next_attempt_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_richmenu_links_due', table_name='richmenu_links')
    op.drop_table('richmenu_links')
