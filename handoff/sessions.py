"""Server-side console sessions: the cookie carries a random token, the database its hash.

A session is refused as soon as it is revoked (logout; the account disabled, its role or its
password changed; `tsunagu user revoke`), after `idle` without a request, or `lifetime` after
the login, whichever comes first. Every process on the same database sees the same sessions,
so a logout on one replica ends the session on all of them. Services flush; callers commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff.models import ConsoleSession, Counsellor

# last_seen_at is written at most this often per session: not a database write per request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=60)
    lifetime: timedelta = timedelta(hours=8)


def token_hash(token: str) -> str:
    """What the database keeps of a token: 256 random bits need no salt or slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, session: Session, counsellor_id: int, address: str | None = None,
          now: datetime | None = None) -> str:
    """A new session for the account; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    moment = now or utcnow()
    session.add(ConsoleSession(token_hash=token_hash(token), counsellor_id=counsellor_id,
                               address=address, created_at=moment, last_seen_at=moment))
    session.flush()
    return token


def resolve(*, session: Session, token: str, policy: SessionPolicy,
            now: datetime | None = None) -> Counsellor | None:
    """The active account of a live session, else None. An expired session is marked revoked;
    a live one has its last_seen_at moved on when it is older than TOUCH_EVERY (neither is
    flushed: the caller commits when `session.dirty`, so most requests write nothing)."""
    moment = now or utcnow()
    found = session.execute(
        select(ConsoleSession, Counsellor)
        .join(Counsellor, Counsellor.id == ConsoleSession.counsellor_id)
        .where(ConsoleSession.token_hash == token_hash(token))).first()
    if found is None:
        return None
    row, account = found
    if row.revoked_at is not None:
        return None
    expired = ("idle" if moment - row.last_seen_at > policy.idle
               else "expired" if moment - row.created_at > policy.lifetime else None)
    if expired or not account.active:
        row.revoked_at, row.revoked_why = moment, expired or "disabled"
        return None
    if moment - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = moment
    return account


def revoke(*, session: Session, token: str, why: str, now: datetime | None = None) -> int | None:
    """Ends the session of this token; returns its account's id (None if there was none)."""
    row = session.scalars(select(ConsoleSession).where(
        ConsoleSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at, row.revoked_why = now or utcnow(), why
        session.flush()
    return row.counsellor_id


def revoke_all(*, session: Session, counsellor_id: int, why: str,
               now: datetime | None = None) -> int:
    """Ends every live session of the account; returns how many there were."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.counsellor_id == counsellor_id,
               ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_why=why))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_count(*, session: Session, counsellor_id: int) -> int:
    """Sessions not revoked (some may have expired without being seen since)."""
    return len(session.scalars(select(ConsoleSession.id).where(
        ConsoleSession.counsellor_id == counsellor_id,
        ConsoleSession.revoked_at.is_(None))).all())
