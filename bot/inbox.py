"""Accepted webhook events: stored once per webhookEventId, claimed one source at a time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import InboxEvent, InboxStatus, utcnow


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int


def source_key(event: dict[str, Any]) -> str:
    """The unit of ordering: a user in a 1:1 chat, or the group/room as a whole."""
    source = event.get("source") or {}
    kind = str(source.get("type") or "unknown")
    ident = source.get("groupId") or source.get("roomId") or source.get("userId") or ""
    return f"{kind}:{ident}"[:80]


def _event_row(event: dict[str, Any], index: int, received_at: datetime) -> dict[str, Any]:
    source = event.get("source") or {}
    context = event.get("deliveryContext") or {}
    timestamp = event.get("timestamp")
    return {
        # LINE always sends one; a stand-in keeps a body without one storable but unique.
        "webhook_event_id": str(event.get("webhookEventId") or f"missing-{time.time_ns()}-{index}"),
        "source_key": source_key(event),
        "line_user_id": source.get("userId") if isinstance(source.get("userId"), str) else None,
        "event_type": str(event.get("type") or "unknown")[:40],
        "event_timestamp": timestamp if isinstance(timestamp, int) else int(time.time() * 1000),
        "is_redelivery": bool(context.get("isRedelivery")),
        "payload": event,
        "received_at": received_at,
        "status": InboxStatus.PENDING,
        "attempts": 0,
    }


def store_events(*, session: Session, events: Sequence[dict[str, Any]]) -> StoreResult:
    """Insert events, skipping any webhookEventId already stored (LINE redelivers)."""
    now = utcnow()
    rows = [_event_row(e, i, now) for i, e in enumerate(events)]
    accepted = 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for row in rows:
        stmt = insert(InboxEvent).values(row).on_conflict_do_nothing(
            index_elements=["webhook_event_id"])
        accepted += session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]
    return StoreResult(accepted=accepted, duplicates=len(rows) - accepted)


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


def next_pending(*, session: Session, key: str) -> InboxEvent | None:
    stmt = (
        select(InboxEvent)
        .where(InboxEvent.source_key == key, InboxEvent.status == InboxStatus.PENDING)
        .order_by(InboxEvent.event_timestamp, InboxEvent.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def mark(event: InboxEvent, status: InboxStatus, error: str | None = None) -> None:
    event.status = status
    event.processed_at = utcnow()
    event.error = error
