"""content releases drafts and previews

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 23:18:01.505235
"""
from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table('content_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['counsellors.id'], name=op.f('fk_content_releases_author_id_counsellors')),
    sa.ForeignKeyConstraint(['restored_from'], ['content_releases.id'], name=op.f('fk_content_releases_restored_from_content_releases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_releases'))
    )
    op.create_table('content_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('base_release_id', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('updated_at', bot.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['counsellors.id'], name=op.f('fk_content_drafts_author_id_counsellors')),
    sa.ForeignKeyConstraint(['base_release_id'], ['content_releases.id'], name=op.f('fk_content_drafts_base_release_id_content_releases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_drafts')),
    sa.UniqueConstraint('author_id', name=op.f('uq_content_drafts_author_id'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every process reloads what it serves when a release is published (see 0008).
        op.execute("CREATE TRIGGER content_releases_notify AFTER INSERT ON content_releases "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_notify_change()")


def downgrade() -> None:
    op.drop_table('content_drafts')
    op.drop_table('content_releases')
    op.drop_table('content_previews')
