"""The floor as a supervisor sees it: who is on duty, how many chats each holds against their
capacity, and each claimed case with how long its resident has waited for an answer since
their last message. A handful of queries for the whole floor, never one per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, OutboxMessage
from handoff import presence
from handoff.models import Case, CaseMessage, CaseStatus, Counsellor


@dataclass(frozen=True)
class Person:
    counsellor_id: int
    name: str
    role: str
    presence: presence.Presence
    holding: int
    capacity: int | None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.holding >= self.capacity


@dataclass(frozen=True)
class Chat:
    case_id: int
    pseudonym: str
    priority: str
    holder: str
    holder_id: int
    claimed_at: datetime | None
    # The resident's last message not yet answered by a counsellor (None: nothing waits).
    waiting_since: datetime | None


def people(*, session: Session, team_id: str, now: datetime,
           away_after: timedelta) -> list[Person]:
    """The team's active accounts, on duty first (presence as it counts now)."""
    accounts = list(session.scalars(select(Counsellor).where(
        Counsellor.active.is_(True), Counsellor.team_id == team_id)
        .order_by(Counsellor.display_name)))
    held = dict(session.execute(
        select(Case.claimed_by, func.count(Case.id))
        .where(Case.status == CaseStatus.CLAIMED,
               Case.claimed_by.in_([a.id for a in accounts]))
        .group_by(Case.claimed_by)).all())
    seen = presence.last_seen(session, [a.id for a in accounts])
    found = [Person(a.id, a.display_name, str(a.role),
                    presence.effective(a, seen.get(a.id), now, away_after),
                    int(held.get(a.id, 0)), a.capacity) for a in accounts]
    order = {presence.Presence.AVAILABLE: 0, presence.Presence.AWAY: 1, presence.Presence.OFF: 2}
    return sorted(found, key=lambda p: order.get(p.presence, 3))


def chats(*, session: Session, visible: ColumnElement[bool], team_id: str) -> list[Chat]:
    """The team's claimed cases, the longest-waiting resident first."""
    rows = list(session.execute(
        select(Case, Counsellor.display_name, Conversation.line_user_id)
        .join(Counsellor, Counsellor.id == Case.claimed_by)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(Case.status == CaseStatus.CLAIMED, Case.team_id == team_id, visible)))
    if not rows:
        return []
    case_ids = [case.id for case, _, _ in rows]
    users = [user for _, _, user in rows]
    said = dict(session.execute(
        select(CaseMessage.case_id, func.max(CaseMessage.created_at))
        .where(CaseMessage.case_id.in_(case_ids), CaseMessage.sender == "resident")
        .group_by(CaseMessage.case_id)).all())
    answered = dict(session.execute(
        select(OutboxMessage.line_user_id, func.max(OutboxMessage.created_at))
        .where(OutboxMessage.line_user_id.in_(users), OutboxMessage.counsellor_id.is_not(None))
        .group_by(OutboxMessage.line_user_id)).all())
    found = []
    for case, holder, user in rows:
        last = said.get(case.id)
        reply = answered.get(user)
        waiting = last if last is not None and (reply is None or reply < last) else None
        found.append(Chat(case.id, case.pseudonym, str(case.priority), holder,
                          int(case.claimed_by or 0), case.claimed_at, waiting))
    return sorted(found, key=lambda c: (c.waiting_since is None, c.waiting_since.timestamp()
                                        if c.waiting_since else 0.0))
