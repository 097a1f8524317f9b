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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import metrics
from bot.db.engine import transaction
from bot.db.models import Conversation, InboxEvent, OutboxMessage, OutboxStatus, utcnow
from bot.edge import contact_rules as cr
from bot.edge import richmenu_links
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
          counsellor_id: int | None, rules: Rules = None) -> list[dict[str, Any]]:
    """The rows' values: at most LINE's five messages a request each; the first row may use
    the event's reply token. A push follows the resident's contact rules (`rules`: theirs and
    when they last wrote): held, or silent, and the neutral notice first when one is due."""
    token = (event.payload.get("replyToken") if event is not None else None) or None
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for start in range(0, len(messages), MAX_MESSAGES):
        replies = event is not None and bool(token) and start == 0
        if rules is None:
            decision = cr.Decision(None)
        elif replies:  # an answer to what the resident just wrote: they are in the chat
            decision = cr.Decision(None, silent=rules[0].silent)
        else:
            decision = cr.decide(rules[0], now, rules[1])
        if decision.notice and rules is not None:
            rows.append(_notice_row(user_id, conversation_id, rules[0]))
            rules = (replace(rules[0], noticed=True), rules[1])
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
            "silent": decision.silent,
            "held": decision.held,
            "status": OutboxStatus.HELD if decision.held else OutboxStatus.PENDING,
            "next_attempt_at": decision.not_before or now,
        })
    return rows


# A resident's contact rules and when they last wrote, as `_rows` applies them.
Rules = tuple[cr.ContactRules, "datetime | None"] | None


def _notice_row(user_id: str, conversation_id: int | None,
                rules: cr.ContactRules) -> dict[str, Any]:
    """The neutral notice: nothing of who sends it or why; the held words come when the
    resident writes anything (the button sends 「見る」)."""
    show = {"type": "action", "action": {"type": "message", "label": rules.show,
                                         "text": rules.show}}
    return {"line_user_id": user_id, "conversation_id": conversation_id,
            "source_event_id": None, "counsellor_id": None,
            "messages": [{"type": "text", "text": rules.notice, "quickReply": {"items": [show]}}],
            "reply_token": None, "reply_deadline": None, "silent": rules.silent, "held": None,
            "status": OutboxStatus.PENDING, "next_attempt_at": utcnow(), _NOTICE: True}


def rules_of(conversation: Conversation) -> Rules:
    """The conversation's rules for `enqueue`/`insert` (None: it has none)."""
    rules = cr.ContactRules.of(conversation.contact_rules)
    return (rules, conversation.last_event_at) if rules.any else None


def _looked_up(session: Session, conversation_id: int | None) -> tuple[Rules, Conversation | None]:
    if conversation_id is None:
        return None, None
    conversation = session.get(Conversation, conversation_id)
    return (rules_of(conversation) if conversation is not None else None), conversation


def _remember_notice(conversation: Conversation | None, rows: list[dict[str, Any]]) -> None:
    """A notice went out with these rows: no second one until the resident writes."""
    if any(r.pop(_NOTICE, False) for r in rows) and conversation is not None:
        conversation.contact_rules = {**conversation.contact_rules, "noticed": True}


_NOTICE = "_notice"  # marks the notice among `_rows`' values (taken out before inserting)


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
    `flush=False` lets a caller adding many rows insert them together. A push follows the
    conversation.s contact rules (bot/edge/contact_rules.py). Returns the rows of these messages
    (a neutral notice the rules add goes out too, but is not among them)."""
    rules, conversation = _looked_up(session, conversation_id)
    values = _rows(user_id, messages, conversation_id, event, reply_ttl_seconds, counsellor_id,
                   rules)
    notices = [bool(v.get(_NOTICE)) for v in values]
    _remember_notice(conversation, values)
    rows = [OutboxMessage(**v) for v in values]
    session.add_all(rows)
    if flush:
        session.flush()
    return [row for row, notice in zip(rows, notices, strict=True) if not notice]  # the caller's


_INSERT = sql_insert(OutboxMessage.__table__)  # type: ignore[arg-type]


def insert(
    session: Session,
    *,
    user_id: str,
    messages: list[Message],
    conversation_id: int | None = None,
    event: InboxEvent | None = None,
    reply_ttl_seconds: float = 0.0,
    rules: Rules = None,
) -> int:
    """`enqueue` for a caller that needs no row objects (the worker's answers): the same rows
    in one plain INSERT, without the ORM's unit of work. Returns how many rows. The caller
    passes the conversation's contact `rules` (`rules_of`), which it holds already."""
    rows = _rows(user_id, messages, conversation_id, event, reply_ttl_seconds, None, rules)
    for row in rows:  # the worker's own answers: its caller keeps the notice in mind
        row.pop(_NOTICE, None)
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
    silent: bool = False


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
                               row.reply_deadline, row.retry_key, row.attempts, row.silent))
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
        result = await line.reply(claimed.reply_token, claimed.messages, claimed.silent)
        if result.outcome != Outcome.INVALID_REPLY_TOKEN:
            return result, "reply"
        # Expired or already used. After an earlier ambiguous failure (timeout, 5xx) the
        # message may have arrived; we still push, as a missed answer is worse than a repeat.
    return await line.push(claimed.user_id, claimed.messages, claimed.retry_key,
                           claimed.silent), "push"


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
        self.menu_names = richmenu_links.MenuNames(runtime.line)

    async def drain(self) -> int:
        """One pass: send each resident's next due row, and link the rich menus residents
        chose a language for. Returns the number of rows and links attempted."""
        rt = self.runtime
        claimed, links = await asyncio.to_thread(
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
        # After the messages: a menu can wait for an answer, never the other way round.
        linked = await richmenu_links.link_claimed(rt.sessions, rt.line, self.menu_names, links)
        return len(claimed) + linked

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


def _claim(sessions: sessionmaker[Session],
           lease: timedelta) -> tuple[list[Claimed], list[richmenu_links.Due]]:
    """One transaction per pass: held rows whose time came, the due rows and the due rich
    menu links."""
    with transaction(sessions) as session:
        now = utcnow()
        release_due(session, now)
        return (claim_due(session=session, now=now, lease=lease),
                richmenu_links.claim_due(session, now))


# ---------------------------------------------------------------------- held by contact rules

def release_held(session: Session, conversation_id: int) -> int:
    """The resident wrote: everything held for them goes now (they are in the chat), in the
    order it was written. Returns how many rows."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation_id,
               OutboxMessage.status == OutboxStatus.HELD)
        .values(status=OutboxStatus.PENDING, held=None, next_attempt_at=utcnow()),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def hold_pending(session: Session, conversation_id: int, reason: str) -> int:
    """「けす」: pushes not yet sent wait too (a reply in flight is the resident's own answer)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation_id,
               OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.reply_token.is_(None))
        .values(status=OutboxStatus.HELD, held=reason),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def release_due(session: Session, now: datetime, limit: int = 200) -> int:
    """Rows held for the resident's hours whose window has opened: decided again under the
    rules as they are now (the resident may have changed them since)."""
    rows = list(session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.HELD, OutboxMessage.held == cr.HOURS,
               OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit)))
    if not rows:
        return 0
    ids = {r.conversation_id for r in rows if r.conversation_id is not None}
    conversations = {c.id: c for c in session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)))}
    for row in rows:
        conversation = conversations.get(row.conversation_id or -1)
        rules = cr.ContactRules.of(conversation.contact_rules if conversation else None)
        decision = cr.decide(rules, now, conversation.last_event_at if conversation else None)
        row.held = decision.held
        row.status = OutboxStatus.HELD if decision.held else OutboxStatus.PENDING
        row.next_attempt_at = decision.not_before or now
        if decision.notice and conversation is not None:
            notice = _notice_row(row.line_user_id, conversation.id, rules)
            notice.pop(_NOTICE)
            session.add(OutboxMessage(**notice))
            conversation.contact_rules = {**conversation.contact_rules, "noticed": True}
    return len(rows)


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
        link = richmenu_links.next_due(session)
    due = min((d for d in (due, link) if d is not None), default=None)
    if due is None:
        return None
    return max(0.0, (due - utcnow()).total_seconds())
