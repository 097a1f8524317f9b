"""SQLite writers take turns on an OS file lock instead of SQLite's busy handler.

SQLite lets one connection write at a time. A connection that finds the write lock taken
sleeps in SQLite's busy handler and tries again (after 1, 2, 5, 10 ... up to 100 ms), so under
load a webhook's commit can sleep far longer than the transaction it waits for takes, and a
busy writer can keep winning. Here every write transaction first takes an exclusive `flock` on
`<database>-writers.lock`: waiters sleep in the kernel and the next one is woken as soon as the
lock is released. It works across threads and across processes (the web process and its worker
process). SQLite's own locking stays underneath, unchanged, for anything that bypasses this
(another program, the CLI): correctness never depends on the file lock, only waiting does.

The lock is taken just before a transaction's first INSERT/UPDATE/DELETE (where the driver
begins the transaction) and released once it has committed or rolled back. A thread that
already holds it through another connection does not wait for itself: it falls back to
SQLite's busy handler, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from typing import Any

from sqlalchemy import Engine, event

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def _raw(connection: Any) -> Any:
    """The sqlite3 connection itself (SQLAlchemy passes its pool's proxy to do_commit)."""
    return getattr(connection, "dbapi_connection", connection)


class WriterLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fds: dict[int, int] = {}  # id(DBAPI connection) -> fd holding the lock
        self._owners: dict[int, int] = {}  # thread id -> connections it holds the lock with
        self._guard = threading.Lock()

    def acquire(self, dbapi_conn: Any) -> None:
        key, me = id(_raw(dbapi_conn)), threading.get_ident()
        with self._guard:
            if key in self._fds or self._owners.get(me):
                return  # held already, or this thread would wait for itself
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        except BaseException:
            os.close(fd)
            raise
        with self._guard:
            self._fds[key] = fd
            self._owners[me] = self._owners.get(me, 0) + 1

    def release(self, dbapi_conn: Any) -> None:
        with self._guard:
            fd = self._fds.pop(id(_raw(dbapi_conn)), None)
            if fd is None:
                return
            me = threading.get_ident()
            left = self._owners.get(me, 1) - 1
            if left > 0:
                self._owners[me] = left
            else:
                self._owners.pop(me, None)
        os.close(fd)  # closing the descriptor releases the flock


def install(engine: Engine, database_path: str) -> WriterLock:
    lock = WriterLock(f"{database_path}-writers.lock")

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if not dbapi_conn.in_transaction and statement.lstrip()[:6].upper() in WRITES:
            lock.acquire(dbapi_conn)

    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_conn: Any) -> None:
        try:
            commit(dbapi_conn)
        finally:
            lock.release(dbapi_conn)

    def do_rollback(dbapi_conn: Any) -> None:
        try:
            rollback(dbapi_conn)
        finally:
            lock.release(dbapi_conn)

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]

    @event.listens_for(engine, "close")
    def closed(dbapi_conn: Any, _record: Any) -> None:
        with contextlib.suppress(Exception):
            lock.release(dbapi_conn)

    return lock
