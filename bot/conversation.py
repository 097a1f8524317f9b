"""Feeds one accepted event to the resident's flow and records what follows, in the caller's
transaction: conversation state and outbox rows are written together with the event's status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import Content
from bot.flows import slice as flow
from bot.flows.line_messages import Message
from bot.models import Conversation, InboxEvent, InboxStatus, OutboxMessage, utcnow

MAX_MESSAGES_PER_REQUEST = 5  # LINE's limit for one reply or push


def _conversation(session: Session, user_id: str) -> Conversation:
    found = session.scalars(
        select(Conversation).where(Conversation.line_user_id == user_id)
    ).first()
    if found is not None:
        return found
    conversation = Conversation(
        line_user_id=user_id, flow_id=flow.FLOW_ID, flow_version=flow.FLOW_VERSION,
        state=flow.START, answers={},
    )
    session.add(conversation)
    session.flush()
    return conversation


def reply_deadline(event: dict[str, Any], received_at: datetime, ttl_seconds: float) -> datetime:
    """Until when the event's reply token may be used (counted from when LINE sent it)."""
    stamp = event.get("timestamp")
    start = received_at
    if isinstance(stamp, int):
        sent = datetime.fromtimestamp(stamp / 1000, tz=received_at.tzinfo)
        start = min(sent, received_at)
    return start + timedelta(seconds=ttl_seconds)


def queue_messages(
    session: Session,
    *,
    user_id: str,
    messages: list[Message],
    conversation_id: int | None = None,
    event: InboxEvent | None = None,
    reply_ttl_seconds: float = 0.0,
) -> list[OutboxMessage]:
    """Outbox rows for these messages; the first row may use the event's reply token."""
    rows = []
    token = (event.payload.get("replyToken") if event is not None else None) or None
    for start in range(0, len(messages), MAX_MESSAGES_PER_REQUEST):
        row = OutboxMessage(
            line_user_id=user_id,
            conversation_id=conversation_id,
            source_event_id=event.id if event is not None else None,
            messages=messages[start : start + MAX_MESSAGES_PER_REQUEST],
        )
        if token and start == 0 and event is not None:
            row.reply_token = str(token)
            row.reply_deadline = reply_deadline(event.payload, event.received_at,
                                                reply_ttl_seconds)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def handle_event(
    session: Session, event: InboxEvent, content: Content, *, reply_ttl_seconds: float
) -> int:
    """Process one pending event; returns how many outbox rows it produced."""
    payload = event.payload
    source = payload.get("source") or {}
    if source.get("type") != "user" or not event.line_user_id:
        messages = flow.respond_to_group(payload, content)
        target = source.get("groupId") or source.get("roomId")
        rows = []
        if messages and target:
            rows = queue_messages(session, user_id=str(target), messages=messages, event=event,
                                  reply_ttl_seconds=reply_ttl_seconds)
        event.status = InboxStatus.DONE if rows else InboxStatus.IGNORED
        event.processed_at = utcnow()
        return len(rows)

    conversation = _conversation(session, event.line_user_id)
    reaction = flow.respond(payload, conversation.state, content)
    conversation.state = reaction.state
    conversation.last_event_at = utcnow()
    if reaction.following is not None:
        conversation.following = reaction.following
    rows = queue_messages(
        session, user_id=event.line_user_id, messages=reaction.messages,
        conversation_id=conversation.id, event=event, reply_ttl_seconds=reply_ttl_seconds,
    ) if reaction.messages else []
    event.status = InboxStatus.DONE if rows or reaction.following is not None else \
        InboxStatus.IGNORED
    event.processed_at = utcnow()
    return len(rows)
