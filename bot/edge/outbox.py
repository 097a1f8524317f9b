"""Sends outbox rows to LINE: reply while the token is fresh, else push; retries with backoff.

Rows of one resident go out strictly in order: a row is only taken when every earlier row of
that resident is sent or given up. A push always carries the row's own retry key, so a retry
after a timeout or a crash can never make LINE deliver the same message twice (409 = taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import metrics
from bot.db.engine import transaction
from bot.db.models import InboxEvent, OutboxMessage, OutboxStatus, utcnow
from bot.edge.line_client import LineClient, Outcome, SendResult
from bot.line import MAX_MESSAGES, Message
from bot.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 300.0
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def reply_deadline(event: dict[str, Any], received_at: datetime, ttl_seconds: float) -> datetime:
    """Until when the event's reply token may be used (counted from when LINE sent it)."""
    stamp = event.get("timestamp")
    start = received_at
    if isinstance(stamp, int):
        sent = datetime.fromtimestamp(stamp / 1000, tz=received_at.tzinfo)
        start = min(sent, received_at)
    return start + timedelta(seconds=ttl_seconds)


def _rows(user_id: str, messages: list[Message], conversation_id: int | None,
          event: InboxEvent | None, reply_ttl_seconds: float,
          counsellor_id: int | None) -> list[dict[str, Any]]:
    """The rows' values: at most LINE's five messages a request each; the first row may use
    the event's reply token."""
    token = (event.payload.get("replyToken") if event is not None else None) or None
    rows: list[dict[str, Any]] = []
    for start in range(0, len(messages), MAX_MESSAGES):
        replies = event is not None and bool(token) and start == 0
        rows.append({
            "line_user_id": user_id,
            "conversation_id": conversation_id,
            "source_event_id": event.id if event is not None else None,
            "counsellor_id": counsellor_id,
            "messages": messages[start : start + MAX_MESSAGES],
            "reply_token": str(token) if replies else None,
            "reply_deadline": reply_deadline(event.payload, event.received_at,
                                             reply_ttl_seconds)
            if replies and event is not None else None,
        })
    return rows


def enqueue(
    session: Session,
    *,
    user_id: str,
    messages: list[Message],
    conversation_id: int | None = None,
    event: InboxEvent | None = None,
    reply_ttl_seconds: float = 0.0,
    counsellor_id: int | None = None,
    flush: bool = True,
) -> list[OutboxMessage]:
    """Outbox rows for these messages. The only way anything reaches a resident: the bot's
    answers, counsellors' replies and follow-ups all go through here (or through `insert`).
    `flush=False` lets a caller adding many rows insert them together."""
    rows = [OutboxMessage(**values) for values in _rows(
        user_id, messages, conversation_id, event, reply_ttl_seconds, counsellor_id)]
    session.add_all(rows)
    if flush:
        session.flush()
    return rows


_INSERT = sql_insert(OutboxMessage.__table__)  # type: ignore[arg-type]


def insert(
    session: Session,
    *,
    user_id: str,
    messages: list[Message],
    conversation_id: int | None = None,
    event: InboxEvent | None = None,
    reply_ttl_seconds: float = 0.0,
) -> int:
    """`enqueue` for a caller that needs no row objects (the worker's answers): the same rows
    in one plain INSERT, without the ORM's unit of work. Returns how many rows."""
    rows = _rows(user_id, messages, conversation_id, event, reply_ttl_seconds, None)
    if rows:
        session.connection().execute(_INSERT, rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """What a sender needs of a row, detached from the session that claimed it."""

    id: int
    user_id: str
    messages: list[dict[str, Any]]
    reply_token: str | None
    reply_deadline: datetime | None
    retry_key: str
    attempts: int


def backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


def claim_due(*, session: Session, now: datetime, limit: int = 100,
              lease: timedelta = timedelta(seconds=60)) -> list[Claimed]:
    """Take each resident's first unfinished row if it is due, leasing it to this sender: a
    row whose sender died returns to the queue when the lease ends."""
    earlier = aliased(OutboxMessage)
    # "No earlier unfinished row of the same resident", probed per candidate on the
    # (line_user_id, id) index: the pass stops after `limit` rows however long the queue is.
    waits_for_earlier = (
        select(earlier.id)
        .where(earlier.line_user_id == OutboxMessage.line_user_id,
               earlier.id < OutboxMessage.id, earlier.status.in_(UNFINISHED))
        .exists()
    )
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status.in_(UNFINISHED),
            OutboxMessage.next_attempt_at <= now,
            ~waits_for_earlier,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for row in session.scalars(stmt):
        row.status = OutboxStatus.SENDING
        row.attempts += 1
        row.next_attempt_at = now + lease
        claimed.append(Claimed(row.id, row.line_user_id, list(row.messages), row.reply_token,
                               row.reply_deadline, row.retry_key, row.attempts))
    return claimed


def record(
    *, session: Session, claimed: Claimed, result: SendResult, via: str, now: datetime,
    max_attempts: int, row: OutboxMessage | None = None,
) -> OutboxStatus:
    row = row or session.get(OutboxMessage, claimed.id)
    if row is None:
        return OutboxStatus.FAILED
    if result.outcome in (Outcome.SENT, Outcome.ALREADY_ACCEPTED):
        row.status, row.sent_via, row.sent_at, row.last_error = OutboxStatus.SENT, via, now, None
    elif result.outcome == Outcome.RETRYABLE and claimed.attempts < max_attempts:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now + backoff(claimed.attempts)
        row.last_error = f"{via} {result.status or ''} {result.detail}".strip()[:200]
    else:
        row.status = OutboxStatus.FAILED
        row.last_error = f"{via} {result.status or ''} {result.detail}".strip()[:200]
        log.error("outbox %s given up after %d attempts: %s", row.id, claimed.attempts,
                  row.last_error)
    if via == "push" or result.outcome == Outcome.INVALID_REPLY_TOKEN:
        row.reply_token = None  # from now on this row is pushed
    return row.status


async def deliver(line: LineClient, claimed: Claimed, now: datetime) -> tuple[SendResult, str]:
    """One attempt: reply if the token may still be valid, push otherwise or when it was not."""
    if claimed.reply_token and claimed.reply_deadline and now < claimed.reply_deadline:
        result = await line.reply(claimed.reply_token, claimed.messages)
        if result.outcome != Outcome.INVALID_REPLY_TOKEN:
            return result, "reply"
        # Expired or already used. After an earlier ambiguous failure (timeout, 5xx) the
        # message may have arrived; we still push, as a missed answer is worse than a repeat.
    return await line.push(claimed.user_id, claimed.messages, claimed.retry_key), "push"


class SenderHost(Protocol):
    """What the sender needs of the process it runs in."""

    settings: Settings
    sessions: sessionmaker[Session]
    line: LineClient
    outbox_wakeup: asyncio.Event


async def wait_for_wakeup(event: asyncio.Event, seconds: float) -> None:
    """Sleep until `event` is set or `seconds` pass (polling covers other processes' work)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    event.clear()


class OutboxSender:
    def __init__(self, runtime: SenderHost) -> None:
        self.runtime = runtime

    async def drain(self) -> int:
        """One pass: send each resident's next due row. Returns the number of rows attempted."""
        rt = self.runtime
        claimed = await asyncio.to_thread(
            _claim, rt.sessions, timedelta(seconds=rt.settings.outbox_lease_seconds))
        if claimed:
            sent = await asyncio.gather(*(self._send(c) for c in claimed))
            # One transaction records the whole pass: the rows stay leased until then, and a
            # resident's next row is only claimed by the next pass anyway.
            statuses = await asyncio.to_thread(
                _record_all, rt.sessions, list(zip(claimed, sent, strict=True)),
                rt.settings.outbox_max_attempts)
            for c, (result, via), status in zip(claimed, sent, statuses, strict=True):
                log.info("outbox %s: %s via %s (%s)", c.id, status, via, result.outcome)
                metrics.outbox_attempted(via, status)
        return len(claimed)

    async def _send(self, claimed: Claimed) -> tuple[SendResult, str]:
        # A loading animation still on its way would show after the answer it stands for.
        await self.runtime.line.loading_sent(claimed.user_id)
        return await deliver(self.runtime.line, claimed, utcnow())

    async def next_due_in(self) -> float | None:
        return await asyncio.to_thread(_next_due_in, self.runtime.sessions)

    async def run(self) -> None:
        rt = self.runtime
        while True:
            try:
                if await self.drain():
                    continue
                wait = await self.next_due_in()
            except Exception:
                log.exception("outbox pass failed; retrying")
                wait = None
            timeout = rt.settings.worker_poll_seconds if wait is None else \
                max(0.01, min(wait, rt.settings.worker_poll_seconds))
            await wait_for_wakeup(rt.outbox_wakeup, timeout)


def _claim(sessions: sessionmaker[Session], lease: timedelta) -> list[Claimed]:
    with transaction(sessions) as session:
        return claim_due(session=session, now=utcnow(), lease=lease)


def _record_all(
    sessions: sessionmaker[Session], sent: list[tuple[Claimed, tuple[SendResult, str]]],
    max_attempts: int,
) -> list[OutboxStatus]:
    delivered: dict[str, list[int]] = {}
    for c, (result, via) in sent:
        if result.outcome in (Outcome.SENT, Outcome.ALREADY_ACCEPTED):
            delivered.setdefault(via, []).append(c.id)
    with transaction(sessions) as session:
        now = utcnow()
        # Delivered rows (nearly all) are marked in one UPDATE per way sent, without loading
        # them; the others go through `record` one by one.
        marked: set[int] = set()
        for via, ids in delivered.items():
            values: dict[str, Any] = {"status": OutboxStatus.SENT, "sent_via": via,
                                      "sent_at": now, "last_error": None}
            if via == "push":
                values["reply_token"] = None  # as `record` does
            marked.update(session.scalars(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values)
                .returning(OutboxMessage.id),
                execution_options={"synchronize_session": False}))
        statuses = []
        for c, (result, via) in sent:
            if result.outcome in (Outcome.SENT, Outcome.ALREADY_ACCEPTED):
                statuses.append(OutboxStatus.SENT if c.id in marked else OutboxStatus.FAILED)
            else:
                statuses.append(record(session=session, claimed=c, result=result, via=via,
                                       now=now, max_attempts=max_attempts))
        return statuses


def _next_due_in(sessions: sessionmaker[Session]) -> float | None:
    with sessions() as session:
        due = session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status.in_(UNFINISHED))
        )
    if due is None:
        return None
    return max(0.0, (due - utcnow()).total_seconds())
