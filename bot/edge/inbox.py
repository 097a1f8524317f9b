"""Accepted webhook events: stored once per webhookEventId, claimed one source at a time."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import InboxEvent, InboxStatus, utcnow

BIGINT_MAX = 2**63 - 1  # inbox_events.event_timestamp
# String columns of inbox_events and their lengths (values longer are refused, not truncated:
# a cut webhookEventId could make two events one).
COLUMN_LIMITS = {"webhook_event_id": 64, "line_user_id": 64, "source_key": 80, "event_type": 40}


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int


def _object(value: Any) -> dict[str, Any]:
    # A signed body LINE never sends may have odd shapes: they must not raise (a 500).
    return value if isinstance(value, dict) else {}


def source_key(event: dict[str, Any]) -> str:
    """The unit of ordering: a user in a 1:1 chat, or the group/room as a whole."""
    source = _object(event.get("source"))
    kind = str(source.get("type") or "unknown")
    ident = source.get("groupId") or source.get("roomId") or source.get("userId") or ""
    return f"{kind}:{ident}"[:80]


def _event_row(event: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    source = _object(event.get("source"))
    context = _object(event.get("deliveryContext"))
    timestamp = event.get("timestamp")
    in_range = isinstance(timestamp, int) and 0 <= timestamp <= BIGINT_MAX  # else the INSERT fails
    return {
        # LINE always sends one; a stand-in keeps a body without one storable but unique.
        "webhook_event_id": str(event.get("webhookEventId") or f"missing-{uuid.uuid4().hex}"),
        "source_key": source_key(event),
        "line_user_id": source.get("userId") if isinstance(source.get("userId"), str) else None,
        "event_type": str(event.get("type") or "unknown")[:40],
        "event_timestamp": timestamp if in_range else int(time.time() * 1000),
        "is_redelivery": bool(context.get("isRedelivery")),
        "payload": event,
        "received_at": received_at,
        "status": InboxStatus.PENDING,
        "attempts": 0,
    }


def check_storable(event: dict[str, Any]) -> None:
    """Raise ValueError if the inbox cannot store this event as it is.

    LINE's ids and types are short ASCII and its JSON has no NaN. A signed body with others would
    make the INSERT fail (PostgreSQL refuses NUL, over-long varchar and NaN in json; neither
    driver encodes a lone surrogate) and the webhook answer 500, which LINE redelivers in vain.
    The messages name the field only: the values may be a resident's words.
    """
    row = _event_row(event, utcnow())
    for column, limit in COLUMN_LIMITS.items():
        value = row[column]
        if value is None:
            continue
        if len(value) > limit or "\x00" in value:
            raise ValueError(f"{column} cannot be stored")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{column} cannot be stored") from None
    try:
        json.dumps(event, allow_nan=False)  # what the JSON column will be given
    except (ValueError, RecursionError):
        raise ValueError("payload is not storable JSON (NaN, Infinity or too deep)") from None


def store_batch(*, session: Session,
                bodies: Sequence[Sequence[dict[str, Any]]]) -> list[StoreResult]:
    """Insert the events of several webhook bodies in one statement, skipping any
    webhookEventId already stored (LINE redelivers); one result per body. An event that
    appears twice counts as accepted for its first body only."""
    now = utcnow()
    rows = [[_event_row(e, now) for e in body] for body in bodies]
    flat = [row for body_rows in rows for row in body_rows]
    if not flat:
        return [StoreResult(accepted=0, duplicates=0) for _ in bodies]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(InboxEvent).values(flat)
            .on_conflict_do_nothing(index_elements=["webhook_event_id"])
            .returning(InboxEvent.webhook_event_id))
    # Counted from the returned rows: with psycopg, rowcount is -1 for this statement.
    inserted = set(session.scalars(stmt))
    results = []
    for body_rows in rows:
        accepted = 0
        for row in body_rows:
            if row["webhook_event_id"] in inserted:
                inserted.discard(row["webhook_event_id"])  # a later copy is a duplicate
                accepted += 1
        results.append(StoreResult(accepted=accepted, duplicates=len(body_rows) - accepted))
    return results


def pending_sources(*, session: Session, limit: int = 100) -> list[str]:
    """Sources with pending events, the longest-waiting first."""
    stmt = (
        select(InboxEvent.source_key)
        .where(InboxEvent.status == InboxStatus.PENDING)
        .group_by(InboxEvent.source_key)
        .order_by(func.min(InboxEvent.received_at))
        .limit(limit)
    )
    return list(session.scalars(stmt))


def lock_source(*, session: Session, key: str) -> bool:
    """Take the source for this transaction. On PostgreSQL other processes skip it meanwhile;
    SQLite runs a single process, whose worker serialises sources itself."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": key})
    return bool(got.scalar())


_PENDING = (
    select(InboxEvent.id, InboxEvent.payload)
    .where(InboxEvent.source_key == bindparam("key"), InboxEvent.status == InboxStatus.PENDING)
    .order_by(InboxEvent.event_timestamp, InboxEvent.id)
    .limit(bindparam("limit"))
)


def pending(*, session: Session, key: str, limit: int = 100) -> list[tuple[int, str]]:
    """A source's pending events in the order they must be handled: (id, the words of a text
    message, else ""). The words let a worker read them before it takes the write lock."""
    return [(event_id, text_of(payload)) for event_id, payload in
            session.execute(_PENDING, {"key": key, "limit": limit})]


def text_of(payload: dict[str, Any] | None) -> str:
    message = (payload or {}).get("message") or {}
    words = message.get("text") if message.get("type") == "text" else None
    return words if isinstance(words, str) else ""


def mark(event: InboxEvent, status: InboxStatus, error: str | None = None) -> None:
    event.status = status
    event.processed_at = utcnow()
    event.error = error
