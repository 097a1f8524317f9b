"""Drains the inbox: each source's events in timestamp order, each event exactly once.

An event's status, the conversation state and the outbox rows it causes commit in one
transaction, so a process that dies mid-batch leaves the event pending for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.content import Content
from bot.conversation import FlowLibrary, handle_event, queue_messages
from bot.db import transaction
from bot.flows.line_messages import text
from bot.inbox import lock_source, mark, next_pending, pending_sources
from bot.models import InboxEvent, InboxStatus
from bot.runtime import Runtime, wait_for_wakeup

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def _fail(session: Session, event: InboxEvent, content: Content, error: str) -> None:
    """Give up on an event after repeated errors, but still answer the resident."""
    mark(event, InboxStatus.FAILED, error)
    if event.line_user_id and (event.payload.get("source") or {}).get("type") == "user":
        queue_messages(session, user_id=event.line_user_id,
                       messages=[text(b) for b in content.messages.trouble], event=event)


def process_source(
    sessions: sessionmaker[Session], key: str, library: Callable[[Session, str], FlowLibrary],
    *, reply_ttl_seconds: float,
) -> int:
    """Process a source's pending events one transaction each; returns how many were handled.
    `library` picks the content for the source (published, or a draft being previewed)."""
    handled = 0
    while True:
        event_id: int | None = None
        try:
            with transaction(sessions) as session:
                if not lock_source(session=session, key=key):
                    return handled  # another process has it
                event = next_pending(session=session, key=key)
                if event is None:
                    return handled
                event_id = event.id
                event.attempts += 1
                handle_event(session, event, library(session, key),
                             reply_ttl_seconds=reply_ttl_seconds)
                status = event.status
        except Exception as e:
            if event_id is None:
                raise  # the database itself: the drain retries
            # Nothing of the failed attempt was kept; count it in a transaction of its own
            # (no savepoint per event: that cost every event a round trip and a write).
            if not _failed_attempt(sessions, key, event_id, library, e):
                return handled  # stays pending; the next drain tries again
            status = InboxStatus.FAILED
        metrics.inbox_processed(status)
        handled += 1


def _failed_attempt(sessions: sessionmaker[Session], key: str, event_id: int,
                    library: Callable[[Session, str], FlowLibrary], error: Exception) -> bool:
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
        _fail(session, event, library(session, key).content, type(error).__name__)
        return True


class InboxWorker:
    """In-process asyncio task; blocking DB work runs in threads, one thread per source."""

    def __init__(self, runtime: Runtime, *, concurrency: int = 4) -> None:
        self.runtime = runtime
        self._busy: set[str] = set()
        self._slots = asyncio.Semaphore(concurrency)

    async def drain(self) -> int:
        """Process everything pending now; returns the number of events handled."""
        keys = await asyncio.to_thread(self._pending)
        keys = [k for k in keys if k not in self._busy]
        if not keys:
            return 0
        results = await asyncio.gather(*(self._run_source(k) for k in keys))
        return sum(results)

    def _pending(self) -> list[str]:
        with self.runtime.sessions() as session:
            return pending_sources(session=session)

    async def _run_source(self, key: str) -> int:
        rt = self.runtime
        self._busy.add(key)
        try:
            async with self._slots:
                handled = await asyncio.to_thread(
                    process_source, rt.sessions, key, rt.library_for,
                    reply_ttl_seconds=rt.settings.reply_token_ttl_seconds,
                )
        finally:
            self._busy.discard(key)
        if handled:
            rt.wake_outbox()
        return handled

    async def run(self) -> None:
        rt = self.runtime
        while True:
            try:
                handled = await self.drain()
            except Exception:
                log.exception("inbox drain failed; retrying")
                handled = 0
            if handled:
                continue
            await wait_for_wakeup(rt.worker_wakeup, rt.settings.worker_poll_seconds)
