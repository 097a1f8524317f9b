"""Tells this process that the database changed, whichever process changed it.

Console pages wait on a `ChangeFeed` instead of polling the database. On PostgreSQL every
process LISTENs on one channel; triggers NOTIFY it when a table the console shows is written
(delivered at commit, so a page never reads a change before it is visible). On SQLite, one
process by design, a commit through the runtime's sessions is the signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

CHANNEL = "tsunagu_changes"
# The tables whose writes a console page may show; the migration adds a NOTIFY trigger to each.
WATCHED_TABLES = ("cases", "case_messages", "case_notes", "inbox_events", "outbox_messages",
                  "followups", "conversations", "counsellors", "emergency_alerts",
                  "emergency_acks", "emergency_actions")


class ChangeFeed:
    """A counter that waiters can await; `changed` may be called from any thread."""

    def __init__(self) -> None:
        self.version = 0
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """`listener(topic)` runs in the event loop on every change (e.g. a content reload)."""
        self._listeners.append(listener)

    def changed(self, topic: str = "") -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._bump(topic)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._bump, topic)

    def _bump(self, topic: str) -> None:
        self.version += 1
        if self._event is not None:
            # A fresh event per change wakes every current waiter exactly once.
            fired, self._event = self._event, asyncio.Event()
            fired.set()
        for listener in self._listeners:
            try:
                listener(topic)
            except Exception:  # one listener's bug must not silence the others
                log.exception("change listener failed")

    async def wait(self, seen: int, seconds: float) -> int:
        """The version after `seen`, or the same one if nothing changed within `seconds`."""
        if self.version != seen or self._event is None:
            return self.version
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        return self.version


def signal_commits(feed: ChangeFeed, sessions: sessionmaker[Session]) -> None:
    """SQLite: every commit through these sessions is a change (nothing else writes)."""

    def after_commit(_session: Session) -> None:
        feed.changed("commit")

    event.listen(sessions, "after_commit", after_commit)


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as psycopg expects it (no '+psycopg' driver part)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


async def listen(feed: ChangeFeed, database_url: str, *, retry_seconds: float = 1.0) -> None:
    """PostgreSQL: forward NOTIFYs to the feed until cancelled. While the connection is down,
    tick the feed every `retry_seconds` so pages fall back to checking for themselves."""
    import psycopg

    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                    libpq_url(database_url), autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                feed.changed("reconnected")  # anything may have changed while we were away
                async for note in conn.notifies():
                    feed.changed(note.payload)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the database restarting, a network blip
            log.warning("change listener lost its connection (%s); retrying", type(e).__name__)
        feed.changed("unknown")
        await asyncio.sleep(retry_seconds)
