"""Group commit for the webhook: concurrent webhooks share one inbox transaction.

A webhook is acknowledged only once its events are committed (an accepted event is never
lost), so under load the commit is what a webhook waits for. Bodies that arrive while a commit
runs are written together by the next one: at low load a webhook commits alone and at once; at
high load one commit serves many, instead of each queueing for the database's write lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.edge.inbox import StoreResult, store_batch

log = logging.getLogger(__name__)

Body = Sequence[dict[str, Any]]


class InboxWriter:
    """Stores webhook bodies for the event loop's handlers; one writer thread at a time."""

    def __init__(self, sessions: sessionmaker[Session], *, max_events: int = 500) -> None:
        self.sessions = sessions
        self.max_events = max_events  # bounds one transaction
        self._waiting: list[tuple[Body, asyncio.Future[StoreResult]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, events: Body) -> StoreResult:
        """Commit these events (skipping webhookEventIds already stored); raises what the
        database raised if they could not be stored."""
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_waiting())
        # A client that hangs up cancels this wait, not the write: its events are committed
        # (LINE redelivers them if it got no 200, and the inbox skips the duplicates).
        return await asyncio.shield(future)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                results = await asyncio.to_thread(self._write, [body for body, _ in batch])
            except asyncio.CancelledError:  # shutting down: nobody waits for an answer
                for _, future in [*batch, *self._waiting]:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _take(self) -> list[tuple[Body, asyncio.Future[StoreResult]]]:
        taken, events = 0, 0
        for body, _ in self._waiting:
            if taken and events + len(body) > self.max_events:
                break
            taken, events = taken + 1, events + len(body)
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch

    def _write(self, bodies: list[Body]) -> list[StoreResult | BaseException]:
        try:
            with transaction(self.sessions) as session:
                return list(store_batch(session=session, bodies=bodies))
        except Exception as e:
            if len(bodies) == 1:
                return [e]
            # One body the database refuses must not fail the others: each on its own.
            log.warning("inbox: a batch of %d webhooks failed (%s); storing each alone",
                        len(bodies), type(e).__name__)
            return [self._write_one(body) for body in bodies]

    def _write_one(self, body: Body) -> StoreResult | BaseException:
        try:
            with transaction(self.sessions) as session:
                return store_batch(session=session, bodies=[body])[0]
        except Exception as e:
            return e
