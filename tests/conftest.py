"""Shared fixtures: a database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db.migrations import upgrade

POSTGRES_URL = os.environ.get("TSUNAGU_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=[
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="TSUNAGU_TEST_POSTGRES_URL is not set"),
])]


def _fresh_postgres_database() -> tuple[str, str]:
    """A new empty database on the test server; returns (its url, its name)."""
    assert POSTGRES_URL
    name = f"tsunagu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database: every test using it runs once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/tsunagu.db"
        upgrade(url)
        yield url
        return
    url, name = _fresh_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_postgres_database(name)
