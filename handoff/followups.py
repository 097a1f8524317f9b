"""Follow-ups: rows in the database, due at a time, sent once through the outbox.

The database is the source of truth; APScheduler only wakes `dispatch_due` periodically in each
process. A row is taken with FOR UPDATE SKIP LOCKED on PostgreSQL and marked sent in the same
transaction that writes its outbox row, so it is sent exactly once however many processes run,
and rows that fell due while the service was down are sent on the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.content.schema import FollowUpRules, QuietHours
from bot.db.models import Conversation
from bot.edge import outbox
from handoff.models import Case, FollowUp, FollowUpState
from handoff.waiting import InLanguage


def outside_quiet_hours(due: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime:
    """`due`, or the end of the quiet hours it falls in (nobody is messaged at night)."""
    local = due.astimezone(zone)
    t = local.timetz().replace(tzinfo=None)
    overnight = quiet.start > quiet.end
    inside = (t >= quiet.start or t < quiet.end) if overnight else quiet.start <= t < quiet.end
    if not inside:
        return due
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(due.tzinfo)


def schedule(*, session: Session, conversation_id: int, kind: str, text: str, due_at: datetime,
             case_id: int | None = None, created_by: int | None = None,
             replace: bool = True, existing: int | None = None) -> int:
    """Schedule a follow-up; returns its id. By default a scheduled one of the same kind is
    moved to the new time instead (a rule reminds once, counted from the latest event; moving
    it keeps one row per reminder however many messages a resident sends). `existing`: the id
    of that scheduled one, when the caller has read it already."""
    if replace:
        # One conditional UPDATE: a row a dispatcher has just sent no longer matches.
        which = FollowUp.id == existing if existing is not None else FollowUp.kind == kind
        moved = session.scalars(
            update(FollowUp)
            .where(FollowUp.conversation_id == conversation_id, which,
                   FollowUp.state == FollowUpState.SCHEDULED)
            .values(due_at=due_at, text=text, case_id=case_id, created_by=created_by)
            .returning(FollowUp.id)
            .execution_options(synchronize_session="fetch")).all()
        if moved:
            return moved[0]
    row = FollowUp(conversation_id=conversation_id, case_id=case_id, kind=kind, text=text,
                   due_at=due_at, created_by=created_by)
    session.add(row)
    session.flush()
    return row.id


def schedule_rule(*, session: Session, rules: FollowUpRules, conversation_id: int, kind: str,
                  now: datetime, case_id: int | None = None,
                  existing: int | None = None) -> int | None:
    rule = rules.rules.get(kind)
    if rule is None:
        return None
    return schedule(session=session, conversation_id=conversation_id, kind=kind,
                    text=rule.text, due_at=now + timedelta(hours=rule.after_hours),
                    case_id=case_id, existing=existing)


def cancel(*, session: Session, conversation_id: int, reason: str,
           kinds: list[str] | None = None) -> int:
    stmt = (update(FollowUp)
            .where(FollowUp.conversation_id == conversation_id,
                   FollowUp.state == FollowUpState.SCHEDULED)
            .values(state=FollowUpState.CANCELLED, reason=reason)
            .returning(FollowUp.id)
            .execution_options(synchronize_session="fetch"))
    if kinds:
        stmt = stmt.where(FollowUp.kind.in_(kinds))
    return len(session.scalars(stmt).all())


def _blocked_reason(conversation: Conversation) -> str | None:
    if not conversation.following:
        return "blocked"  # the resident blocked the account: LINE would not deliver anyway
    if conversation.consent_withdrawn_at is not None:
        return "consent_withdrawn"
    return None


def dispatch_due(*, session: Session, rules: FollowUpRules, now: datetime,
                 limit: int = 200, in_language: InLanguage | None = None) -> int:
    """Send what is due (in this transaction): each row becomes an outbox push, or is
    cancelled with its reason, or waits for the end of quiet hours. Returns rows sent."""
    from bot.line import text as text_message

    stmt = (select(FollowUp)
            .where(FollowUp.state == FollowUpState.SCHEDULED, FollowUp.due_at <= now)
            .order_by(FollowUp.due_at, FollowUp.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    if not rows:
        return 0
    # A few statements per pass, not per row: one query for the conversations, and the
    # outbox rows inserted together at the end (thousands can fall due at once).
    ids = {row.conversation_id for row in rows}
    conversations = {c.id: c for c in session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)))}
    forbidden = set(session.scalars(select(Case.conversation_id).where(
        Case.conversation_id.in_(ids), Case.no_followups.is_(True))))
    allowed = outside_quiet_hours(now, rules.quiet_hours, rules.zone())
    sent = 0
    with session.no_autoflush:
        for row in rows:
            conversation = conversations.get(row.conversation_id)
            reason = "no_conversation" if conversation is None else \
                "case_forbids" if row.conversation_id in forbidden else \
                _blocked_reason(conversation)
            if reason:
                row.state, row.reason = FollowUpState.CANCELLED, reason
                continue
            if allowed > now:
                row.due_at = allowed  # quiet hours: wait for the morning, do not drop it
                continue
            assert conversation is not None
            words = in_language(conversation.language).tr(row.text) \
                if in_language and conversation.language else row.text
            outbox.enqueue(session, user_id=conversation.line_user_id,
                           messages=[text_message(words)], conversation_id=conversation.id,
                           flush=False)
            row.state, row.sent_at = FollowUpState.SENT, now
            sent += 1
    session.flush()
    return sent


ANSWER_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Plan:
    """What a conversation has scheduled, and the follow-up it answered lately: read in one
    statement for every message (the worker plans follow-ups after each)."""

    scheduled: dict[str, int]  # kind -> id of a scheduled follow-up of that kind
    answered_case_id: int | None  # the case of the latest follow-up sent within the window


def plan_of(*, session: Session, conversation_id: int, now: datetime) -> Plan:
    rows = session.execute(
        select(FollowUp.id, FollowUp.kind, FollowUp.state, FollowUp.case_id, FollowUp.sent_at)
        .where(FollowUp.conversation_id == conversation_id,
               or_(FollowUp.state == FollowUpState.SCHEDULED,
                   and_(FollowUp.state == FollowUpState.SENT,
                        FollowUp.sent_at >= now - ANSWER_WINDOW)))).all()
    scheduled = {r.kind: r.id for r in sorted(rows, key=lambda r: r.id)
                 if r.state == FollowUpState.SCHEDULED}
    sent = [r for r in rows if r.state == FollowUpState.SENT]
    latest = max(sent, key=lambda r: (r.sent_at, r.id), default=None)
    return Plan(scheduled=scheduled, answered_case_id=latest.case_id if latest else None)
