"""notify console pages of changes (PostgreSQL LISTEN/NOTIFY)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:30:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Frozen here on purpose: a later change to the watched set is a new migration.
TABLES = ("cases", "case_messages", "case_notes", "inbox_events", "outbox_messages",
          "followups", "conversations")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite runs one process; commits there signal in memory
    # Per statement, not per row: a page only needs to know that something changed, and
    # PostgreSQL folds identical notifications of one transaction into one.
    op.execute("""
        CREATE FUNCTION tsunagu_notify_change() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('tsunagu_changes', TG_TABLE_NAME);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
    """)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tsunagu_notify_change()")
