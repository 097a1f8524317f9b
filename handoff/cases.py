"""Opening and updating cases from the intake. Services add and flush; the caller commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import Places
from bot.models import Conversation, utcnow
from handoff.models import PRIORITY_RANK, Case, CaseMessage, CaseStatus, Priority
from handoff.routing import route

URGENT = {"food", "shelter", "utilities"}


def open_case_of(*, session: Session, conversation_id: int) -> Case | None:
    return session.scalars(
        select(Case)
        .where(Case.conversation_id == conversation_id, Case.status != CaseStatus.CLOSED)
        .order_by(Case.id.desc())
    ).first()


RISK_PRIORITY = {"imminent": Priority.IMMINENT, "high": Priority.HIGH}


def priority_for(answers: Mapping[str, Any], risk_level: str = "none") -> Priority:
    """Imminent risk first; then high risk or no food, no bed tonight, utilities cut."""
    if risk_level in RISK_PRIORITY:
        return RISK_PRIORITY[risk_level]
    return Priority.HIGH if URGENT & set(answers.get("urgent_needs") or []) else Priority.NORMAL


def open_or_update_case(
    *, session: Session, conversation: Conversation, places: Places,
    risk_categories: list[str] | None = None,
) -> Case:
    """The resident's open case, created if there is none, carrying the latest answers.

    Without consent to a counsellor a case is only opened for imminent risk (the life-safety
    exception), and says so in `basis`.
    """
    answers = dict(conversation.answers)
    r = route(places, answers)
    case = open_case_of(session=session, conversation_id=conversation.id)
    wanted = priority_for(answers, conversation.risk_level)
    consented = bool((conversation.consent.get("counsellor") or {}).get("granted"))
    if case is None:
        case = Case(conversation_id=conversation.id, priority=wanted, team_id=r.team.id)
        session.add(case)
    elif PRIORITY_RANK[wanted] < PRIORITY_RANK[Priority(case.priority)]:
        case.priority = wanted  # raised, never lowered by the bot
    if case.status == CaseStatus.OPEN:
        case.team_id = r.team.id  # a claimed case stays with its counsellor's team
    case.municipality = r.municipality
    case.consulting_for = answers.get("consulting_for")
    case.life_areas = list(answers.get("life_areas") or [])
    case.urgent_needs = [n for n in answers.get("urgent_needs") or [] if n in URGENT]
    case.programmes = r.programmes
    case.answers = answers
    case.consent = dict(conversation.consent)
    case.basis = "consent" if consented else "life_safety"
    case.risk_level = conversation.risk_level
    if risk_categories:
        case.risk_categories = sorted(set(case.risk_categories or []) | set(risk_categories))
    case.updated_at = utcnow()
    session.flush()
    return case


def add_resident_message(*, session: Session, case: Case, text: str) -> CaseMessage:
    message = CaseMessage(case_id=case.id, sender="resident", text=text)
    session.add(message)
    session.flush()
    return message


def reopen_after_followup(*, session: Session, conversation: Conversation,
                          case_id: int) -> Case | None:
    """A resident answering a follow-up about a closed case: the case comes back to the queue
    (counsellors see it there, live), unless another case of theirs is already open."""
    if open_case_of(session=session, conversation_id=conversation.id) is not None:
        return None
    closed = session.get(Case, case_id)
    if closed is None or closed.status != CaseStatus.CLOSED:
        return None
    closed.status, closed.closed_at, closed.outcome, closed.outcome_detail = \
        CaseStatus.OPEN, None, None, None
    closed.claimed_by = closed.claimed_at = None
    closed.opened_at = closed.updated_at = utcnow()
    session.flush()
    return closed
