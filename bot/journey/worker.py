"""Drains the inbox: each source's events in timestamp order, each event exactly once.

An event's status, the conversation state and the outbox rows it causes commit in one
transaction, so a process that dies mid-batch leaves the event pending for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.db.engine import transaction
from bot.db.models import InboxEvent, InboxStatus
from bot.edge import outbox
from bot.edge.inbox import lock_source, mark, pending, pending_sources
from bot.edge.line_client import LineClient
from bot.journey.conversation import FlowLibrary, handle_event
from bot.line import text
from bot.releases.load import Content
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# The loading animation while the bot works on a resident's message. LINE hides it when the
# answer arrives; if the answer is late, it stops by itself after this.
LOADING_SECONDS = 10

# Counts the attempt and reads the event in one statement, only while it is still pending (else
# another process handled it meanwhile). Its write also opens the transaction first thing, so on
# SQLite everything the event's handling reads happens under the write lock, as before.
_CLAIM = (update(InboxEvent)
          .where(InboxEvent.id == bindparam("event_id"),
                 InboxEvent.status == InboxStatus.PENDING)
          .values(attempts=InboxEvent.attempts + 1)
          .returning(InboxEvent))


def _fail(session: Session, event: InboxEvent, content: Content, error: str) -> None:
    """Give up on an event after repeated errors, but still answer the resident."""
    mark(event, InboxStatus.FAILED, error)
    if event.line_user_id and (event.payload.get("source") or {}).get("type") == "user":
        outbox.enqueue(session, user_id=event.line_user_id,
                       messages=[text(b) for b in content.messages.trouble], event=event)


def shows_loading(event: InboxEvent) -> bool:
    """A resident's message or tap in a one-on-one chat: LINE can show them the bot at work
    (never in groups or rooms, whose chats the animation does not exist for)."""
    payload: dict[str, Any] = event.payload or {}
    return (event.event_type in ("message", "postback") and bool(event.line_user_id)
            and (payload.get("source") or {}).get("type") == "user"
            and payload.get("mode", "active") == "active")


def process_source(
    sessions: sessionmaker[Session], key: str, library: Callable[[], FlowLibrary],
    *, reply_ttl_seconds: float, started: Callable[[InboxEvent], None] | None = None,
) -> int:
    """Process the source's events pending now, one transaction each; returns how many were
    handled. Events that arrive meanwhile are the next call's (the worker comes back for
    them), which spares every call a last "anything more?" transaction. `library` gives the
    content being served (a newer release may arrive between two events). `started` hears of
    each event as it is taken, before it is handled (it must neither block nor raise)."""
    with sessions() as session:
        events = pending(session=session, key=key)
    handled = 0
    for event_id, words in events:
        status: str
        if words:
            # Read before the transaction: its write lock (one writer at a time on SQLite,
            # the webhook's stores among them) is then held for the writes, not the reading.
            library().read_ahead(words)
        try:
            with transaction(sessions) as session:
                if not lock_source(session=session, key=key):
                    return handled  # another process has it
                event = session.scalars(
                    _CLAIM, {"event_id": event_id},
                    execution_options={"synchronize_session": False}).first()
                if event is None:
                    continue  # another process handled it meanwhile
                if started is not None:
                    started(event)
                handle_event(session, event, library(),
                             reply_ttl_seconds=reply_ttl_seconds)
                status = event.status
        except Exception as e:
            if isinstance(e, OperationalError | InterfaceError):
                raise  # the database itself, not the event: the source retries it later
            # Nothing of the failed attempt was kept; count it in a transaction of its own
            # (no savepoint per event: that cost every event a round trip and a write).
            if not _failed_attempt(sessions, key, event_id, library, e):
                return handled  # stays pending, and so do the later ones: order holds
            status = InboxStatus.FAILED
        metrics.inbox_processed(status)
        handled += 1
    return handled


def _failed_attempt(sessions: sessionmaker[Session], key: str, event_id: int,
                    library: Callable[[], FlowLibrary], error: Exception) -> bool:
    """Record a failed attempt; True if the event was given up (and the resident told)."""
    with transaction(sessions) as session:
        event = session.get(InboxEvent, event_id)
        if event is None or event.status != InboxStatus.PENDING:
            return False
        event.attempts += 1
        # Logged with the event id only: the payload holds the resident's words.
        log.error("inbox event %s failed (attempt %d): %s", event.id, event.attempts,
                  type(error).__name__, exc_info=error)
        if event.attempts < MAX_ATTEMPTS:
            metrics.inbox_processed("retry")
            return False
        _fail(session, event, library().content, type(error).__name__)
        return True


class WorkerHost(Protocol):
    """What the inbox worker needs of the process it runs in."""

    settings: Settings
    sessions: sessionmaker[Session]
    worker_wakeup: asyncio.Event
    line: LineClient

    library: FlowLibrary  # the content being served
    def wake_outbox(self) -> None: ...


class InboxWorker:
    """In-process asyncio task; blocking DB work runs in threads, one thread per source.

    Continuous: a source is started as soon as a slot is free, so an event arriving while
    others are processed waits for one slot, not for a whole round. On SQLite one slot: its
    work is CPU under one GIL and one write lock, and more threads only contend for both (and
    for the time the webhook needs to acknowledge LINE). PostgreSQL overlaps round trips.
    """

    def __init__(self, runtime: WorkerHost, *, concurrency: int | None = None) -> None:
        self.runtime = runtime
        self.concurrency = concurrency or (1 if runtime.settings.is_sqlite else 4)
        self._busy: set[str] = set()
        # A source that made no progress (another process has it, or its event failed and
        # waits for its next attempt) rests until then, instead of being retried at once.
        self._resting: dict[str, float] = {}
        self._queue: list[str] = []  # pending sources not started yet, longest-waiting first

    async def _next_sources(self) -> list[str]:
        """Sources to start, from the last read of the pending ones while it lasts: read once
        for many sources, not once per source (every source read was waiting then; one that
        had more events meanwhile, or new ones since, is in the next read)."""
        keys = self._startable(self._queue)
        if keys:
            return keys
        try:
            self._queue = [k for k in await asyncio.to_thread(self._pending)
                           if k not in self._busy]
        except Exception:
            log.exception("inbox: reading pending sources failed; retrying")
            self._queue = []
        return self._startable(self._queue)

    def _pending(self) -> list[str]:
        with self.runtime.sessions() as session:
            return pending_sources(session=session)

    def _loading(self) -> Callable[[InboxEvent], None]:
        """Starts LINE's loading animation for the first message or tap of a run, from the
        worker's thread onto the loop: beside the work, never in its way (one call per run of
        a source; the outbox sends the answer only after the animation's call returned)."""
        loop = asyncio.get_running_loop()
        line = self.runtime.line
        shown = False

        def started(event: InboxEvent) -> None:
            nonlocal shown
            user = event.line_user_id
            if not shown and user and shows_loading(event):
                shown = True
                with contextlib.suppress(RuntimeError):  # the loop closed: shutting down
                    loop.call_soon_threadsafe(line.start_loading, user, LOADING_SECONDS)

        return started

    async def _run_source(self, key: str) -> int:
        rt = self.runtime
        self._busy.add(key)
        handled = 0
        try:
            handled = await asyncio.to_thread(
                process_source, rt.sessions, key, lambda: rt.library,
                reply_ttl_seconds=rt.settings.reply_token_ttl_seconds,
                started=self._loading(),
            )
        finally:
            self._busy.discard(key)
            if not handled:  # also after an error: the database may be down
                self._resting[key] = time.monotonic() + rt.settings.worker_poll_seconds
        if handled:
            rt.wake_outbox()
        return handled

    def _startable(self, keys: list[str]) -> list[str]:
        now = time.monotonic()
        self._resting = {k: until for k, until in self._resting.items() if until > now}
        return [k for k in keys if k not in self._busy and k not in self._resting]

    async def run(self) -> None:
        rt = self.runtime
        running: set[asyncio.Task[int]] = set()
        woken: asyncio.Task[bool] | None = None
        try:
            while True:
                free = self.concurrency - len(running)
                if free > 0:
                    for key in (await self._next_sources())[:free]:
                        self._queue.remove(key)
                        running.add(asyncio.create_task(self._run_source(key)))
                if woken is None:
                    woken = asyncio.create_task(rt.worker_wakeup.wait())
                done, _ = await asyncio.wait(
                    {*running, woken}, timeout=rt.settings.worker_poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED)
                for task in done & running:
                    running.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("inbox: a source failed (%s); retrying",
                                  type(task.exception()).__name__)
                if woken in done:
                    rt.worker_wakeup.clear()
                    woken = None
        finally:
            for task in [*running, *([woken] if woken else [])]:
                task.cancel()
