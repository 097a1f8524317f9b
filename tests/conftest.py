"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when configured) and the
whole product on a real port.

Most tests share one database and one server per test module and backend: each test brings
its own residents (random LINE user ids), so it finds its own rows by their line_user_id and
never needs the database empty. Tests that do need an empty database (migrations, sweeps over
every row, gauges, crashes and faults) ask for `fresh_database_url` or `fresh_live`.

A module tunes the shared server by overriding `live_settings` (Settings overrides, such as
`{"followup_interval_seconds": 0.5}` or `{"background": False}`), `live_counsellors`
(console accounts created once the server is up) and `live_setup` (a function that puts the
module's other rows in, once per server). `live_factory` starts further servers in
a test and stops them afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrations import upgrade
from bot.db.models import OutboxMessage, OutboxStatus
from tests.live import LiveApp, Staff, add_staff

POSTGRES_URL = os.environ.get("TSUNAGU_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=[
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="TSUNAGU_TEST_POSTGRES_URL is not set"),
])]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: the module's database fixtures run on SQLite alone")


FAULTS = Path(__file__).resolve().parent / "faults"


def _left_out(item: pytest.Item, part: str | None) -> bool:
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and "postgresql" in callspec.params.values()
    if on_postgres and item.get_closest_marker("sqlite_only"):
        return True
    if part is None:
        return False
    return (part == "faults") != item.path.resolve().is_relative_to(FAULTS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the PostgreSQL variants of tests in modules marked sqlite_only; with
    TSUNAGU_TEST_PART=faults keep only tests/faults, with =rest everything else (scripts/test
    runs the fault tests alone, after the rest)."""
    part = os.environ.get("TSUNAGU_TEST_PART") or None
    if part not in (None, "faults", "rest"):
        raise pytest.UsageError(f"TSUNAGU_TEST_PART={part}: faults or rest")
    kept, dropped = [], []
    for item in items:
        (dropped if _left_out(item, part) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database of this backend, migrated to the newest schema, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{folder}/tsunagu.db"
        upgrade(url)
        yield url
        return
    url, name = _fresh_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the module's tests (once per backend): other tests'
    rows are there too, so a test counts only its own residents' rows."""
    with migrated_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the module's shared database, for tests of one layer without a server (a
    module whose tests need an empty database defines its own on fresh_database_url)."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of the test's own (once per backend)."""
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    """Overrides for the servers `live` and `fresh_live` start (a module may override this);
    `background` is create_app's flag, the rest are Settings fields."""
    return {}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    """Console accounts on the servers `live` and `fresh_live` start (a module may override
    this)."""
    return []


Setup = Callable[[LiveApp], None]


@pytest.fixture(scope="module")
def live_setup() -> Setup | None:
    """Run on each server `live` and `fresh_live` start, after its staff (a module may
    override this)."""
    return None


def _started(database_url: str, settings: dict[str, Any], staff: list[Staff],
             setup: Setup | None = None) -> LiveApp:
    app = LiveApp(database_url, **settings).start()
    try:
        add_staff(app, staff)
        if setup is not None:
            setup(app)
    except BaseException:
        app.stop()
        raise
    return app


@pytest.fixture(scope="module")
def live_server(database_url: str, live_settings: dict[str, Any], live_counsellors: list[Staff],
                live_setup: Setup | None) -> Iterator[LiveApp]:
    """One server for the module's tests on its shared database; tests use `live`."""
    app = _started(database_url, live_settings, live_counsellors, live_setup)
    yield app
    app.stop()


def _settle(app: LiveApp, timeout: float = 3.0) -> None:
    """Give the sender a moment to finish what the last test queued, so none of its calls
    reach the emulator after the reset (best effort: a row may wait for a long backoff)."""
    if not app.background:
        return
    unfinished = (OutboxStatus.PENDING, OutboxStatus.SENDING)
    deadline = time.monotonic() + timeout
    while app.count(OutboxMessage, OutboxMessage.status.in_(unfinished)) and \
            time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def live(live_server: LiveApp) -> Iterator[LiveApp]:
    """The module's server; its emulator forgets calls, faults and tokens after each test."""
    yield live_server
    _settle(live_server)
    live_server.emulator.reset()


@pytest.fixture
def live_factory() -> Iterator[Callable[..., LiveApp]]:
    """start(database_url, staff=[...], setup=f, **overrides): a server stopped after the
    test."""
    started: list[LiveApp] = []

    def start(database_url: str, *, staff: list[Staff] | None = None,
              setup: Setup | None = None, **overrides: Any) -> LiveApp:
        app = _started(database_url, overrides, staff or [], setup)
        started.append(app)
        return app

    yield start
    for app in reversed(started):
        app.stop()


@pytest.fixture
def fresh_live(fresh_database_url: str, live_factory: Callable[..., LiveApp],
               live_settings: dict[str, Any], live_counsellors: list[Staff],
               live_setup: Setup | None) -> LiveApp:
    """A server of the test's own on an empty database (the module's settings, staff and
    setup)."""
    return live_factory(fresh_database_url, staff=live_counsellors, setup=live_setup,
                        **live_settings)
