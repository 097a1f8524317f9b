"""SQLite writers take turns on a file lock (bot/db/sqlite_writers.py)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from bot.db.engine import make_engine


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "tsunagu.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE names (name TEXT NOT NULL)"))
    yield engine, Path(f"{path}-writers.lock")
    engine.dispose()


def held(lock: Path) -> bool:
    """Whether someone holds the writers' lock (asked as another process would)."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


INSERT = text("INSERT INTO names (name) VALUES (:u)")


def test_a_write_transaction_holds_the_lock_until_it_ends(
        database: tuple[Engine, Path]) -> None:
    engine, lock = database
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert not held(lock)  # reading takes no turn
        conn.execute(INSERT, {"u": "a"})
        assert held(lock)
        conn.commit()
        assert not held(lock)
        conn.execute(INSERT, {"u": "b"})
        assert held(lock)
        conn.rollback()
        assert not held(lock)
        conn.execute(INSERT, {"u": "c"})
    assert not held(lock)  # closed without commit: rolled back, released
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(INSERT, {"u": None})  # refused by the database
    assert not held(lock)


def test_a_second_writer_waits_for_the_first_and_both_commit(
        database: tuple[Engine, Path]) -> None:
    engine, lock = database
    first_writing, second_done = threading.Event(), threading.Event()

    def second() -> None:
        first_writing.wait(5)
        with engine.begin() as conn:
            conn.execute(INSERT, {"u": "second"})
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as conn:
        conn.execute(INSERT, {"u": "first"})
        first_writing.set()
        # The second writer queues on the lock (not on SQLite's busy handler) meanwhile.
        assert not second_done.wait(0.5)
    assert second_done.wait(10)
    thread.join(5)
    with engine.connect() as conn:
        names = set(conn.scalars(text("SELECT name FROM names")))
    assert names == {"first", "second"}
    assert not held(lock)
