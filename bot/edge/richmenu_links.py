"""The rich menu in the resident's language: the wish written with the event that made it
(`want`), the link made at LINE by the sender (`link_claimed`), retried until LINE took it.

`tsunagu line richmenu` creates one menu per language, named by `richmenu.name_of`; the
default (standard Japanese) is everyone's until a resident chooses another language. A language
without a menu at LINE (never published, or its script could not be drawn) leaves the resident
on the default: the menu's words are then Japanese, its pictures still say what each tile does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.content.richmenu import name_of
from bot.db.engine import transaction
from bot.db.models import RichMenuLink, utcnow
from bot.edge.line_client import LineClient, Outcome, SendResult

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
NAMES_TTL_SECONDS = 60.0  # how long the channel's menu names are trusted before asked again


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** attempts))  # a menu can wait; LINE's limits cannot


def want(session: Session, user_id: str, language: str | None) -> None:
    """The resident's menu should now be the one in `language` (None: the default)."""
    row = session.get(RichMenuLink, user_id)
    if row is None:
        row = RichMenuLink(line_user_id=user_id)
        session.add(row)
    row.language, row.due, row.attempts = language, True, 0
    row.next_attempt_at, row.last_error = utcnow(), None


def relink_all(session: Session) -> int:
    """The menus were made again (new ids): every resident with a language is linked anew."""
    rows = session.execute(update(RichMenuLink).where(RichMenuLink.language.is_not(None))
                           .values(due=True, attempts=0, next_attempt_at=utcnow(),
                                   last_error=None)
                           .execution_options(synchronize_session=False))
    return int(rows.rowcount or 0)  # type: ignore[attr-defined]


def forget(session: Session, user_id: str) -> None:
    """Erasure: no row keeps the resident's LINE id (their menu at LINE stays as it is)."""
    session.execute(delete(RichMenuLink).where(RichMenuLink.line_user_id == user_id))


@dataclass(frozen=True)
class Due:
    user_id: str
    language: str | None
    attempts: int


def claim_due(session: Session, now: datetime, limit: int = 50) -> list[Due]:
    stmt = (select(RichMenuLink)
            .where(RichMenuLink.due.is_(True), RichMenuLink.next_attempt_at <= now)
            .order_by(RichMenuLink.next_attempt_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for row in session.scalars(stmt):
        row.attempts += 1
        row.next_attempt_at = now + LEASE  # another sender leaves it alone meanwhile
        claimed.append(Due(row.line_user_id, row.language, row.attempts))
    return claimed


def record(session: Session, due: Due, result: SendResult, now: datetime) -> None:
    row = session.get(RichMenuLink, due.user_id)
    if row is None or row.language != due.language:
        return  # erased, or a newer choice came meanwhile: that one is linked next
    if result.outcome == Outcome.SENT:
        row.due, row.last_error = False, None
        return
    row.last_error = f"{result.status or ''} {result.detail or result.outcome}".strip()[:200]
    if result.outcome == Outcome.RETRYABLE and due.attempts < MAX_ATTEMPTS:
        row.next_attempt_at = now + backoff(due.attempts)
    else:
        row.due = False  # refused (e.g. the resident blocked the account): the default stays
        log.warning("rich menu not linked after %d attempts: %s", due.attempts, row.last_error)


class MenuNames:
    """The channel's menus by name, read from LINE at most once a minute."""

    def __init__(self, line: LineClient, ttl_seconds: float = NAMES_TTL_SECONDS) -> None:
        self._line = line
        self._ttl = ttl_seconds
        self._ids: dict[str, str] | None = None
        self._read_at = 0.0

    async def id_of(self, name: str) -> str | bool | None:
        """The menu's id; None when the channel has no menu of that name; False when LINE
        could not be asked. A name not yet seen is always asked for again: an operator may
        have made the menus a moment ago, from another process."""
        fresh = self._ids is not None and time.monotonic() - self._read_at <= self._ttl
        if fresh and self._ids is not None and name in self._ids:
            return self._ids[name]
        found = await self._line.rich_menus()
        if found is None:
            return False
        self._ids, self._read_at = {m.name: m.id for m in found}, time.monotonic()
        return self._ids.get(name)

    def forget(self) -> None:
        self._ids = None  # a menu was replaced: ask again


async def link(line: LineClient, names: MenuNames, due: Due) -> SendResult:
    """One attempt: the language's menu linked, or the default restored."""
    if due.language is None:
        return await line.unlink_rich_menu(due.user_id)
    menu_id = await names.id_of(name_of(due.language))
    if menu_id is False:
        return SendResult(Outcome.RETRYABLE, None, "rich menu list not read")
    if menu_id is None:
        log.info("no rich menu in %s: the resident keeps the default", due.language)
        return await line.unlink_rich_menu(due.user_id)
    result = await line.link_rich_menu(due.user_id, str(menu_id))
    if result.outcome == Outcome.REJECTED:
        names.forget()  # perhaps replaced since it was read: the next attempt asks again
        return SendResult(Outcome.RETRYABLE, result.status, result.detail)
    return result


async def link_claimed(sessions: sessionmaker[Session], line: LineClient, names: MenuNames,
                       claimed: list[Due]) -> int:
    """The links the sender claimed with its messages (`claim_due`), attempted and recorded.
    Returns how many were."""
    if not claimed:
        return 0
    results = [await link(line, names, d) for d in claimed]

    def save() -> None:
        with transaction(sessions) as session:
            now = utcnow()
            for d, r in zip(claimed, results, strict=True):
                record(session, d, r, now)

    await asyncio.to_thread(save)
    return len(claimed)


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(func.min(RichMenuLink.next_attempt_at))
                          .where(RichMenuLink.due.is_(True)))
