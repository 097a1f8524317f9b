"""whispers: a supervisor's note addressed to the counsellor holding a case

A case note with `whisper_to` is shown to that counsellor above the talk and counted on their
queue until they look; like every note it stays in the console.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 07:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_notes') as batch:
        batch.add_column(sa.Column('whisper_to', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_case_notes_whisper_to_counsellors', 'counsellors', ['whisper_to'],
                                 ['id'])


def downgrade() -> None:
    with op.batch_alter_table('case_notes') as batch:
        batch.drop_constraint('fk_case_notes_whisper_to_counsellors', type_='foreignkey')
        batch.drop_column('whisper_to')
