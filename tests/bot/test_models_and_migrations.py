"""The migrations create exactly what the models declare, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import handoff.models  # noqa: F401  (cases belong to the same metadata)
from bot.db.engine import make_engine
from bot.db.migrations import downgrade, upgrade
from bot.db.models import Base


def test_migrated_schema_matches_models(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(fresh_database_url: str) -> None:
    downgrade(fresh_database_url, "base")
    engine = make_engine(fresh_database_url)
    assert "inbox_events" not in inspect(engine).get_table_names()
    upgrade(fresh_database_url)
    assert "inbox_events" in inspect(engine).get_table_names()
    engine.dispose()
