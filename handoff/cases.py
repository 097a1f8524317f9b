"""Opening and updating cases from the intake. Services add and flush; the caller commits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from bot.content.schema import Places
from bot.db.models import Conversation, utcnow
from bot.flows.routing import route
from handoff import emergency
from handoff.models import (
    PRIORITY_RANK,
    Case,
    CaseMessage,
    CaseStatus,
    Outcome,
    Priority,
    new_pseudonym,
)

URGENT = {"food", "shelter", "utilities"}


_OPEN_CASE = (select(Case)
              .where(Case.conversation_id == bindparam("conversation_id"),
                     Case.status != CaseStatus.CLOSED)
              .order_by(Case.id.desc()).limit(1))
_CONVERSATION_AND_CASE = (
    select(Conversation, Case)
    .outerjoin(Case, and_(Case.conversation_id == Conversation.id,
                          Case.status != CaseStatus.CLOSED))
    .where(Conversation.line_user_id == bindparam("line_user_id"))
    .order_by(Case.id.desc()).limit(1))
# session.info key: conversation id -> its open case (None: it has none), while remembered.
_KNOWN = "tsunagu.open_cases"


@contextmanager
def remembering_open_cases(session: Session) -> Iterator[None]:
    """Within this block (one event's handling, in one transaction) a conversation's open case
    is read once: the services below keep what they open, close or reopen up to date."""
    session.info[_KNOWN] = {}
    try:
        yield
    finally:
        session.info.pop(_KNOWN, None)


def _remember(session: Session, conversation_id: int, case: Case | None) -> None:
    known = session.info.get(_KNOWN)
    if known is not None:
        known[conversation_id] = case


def remember_no_case(session: Session, conversation_id: int) -> None:
    """A conversation just created has no case yet."""
    _remember(session, conversation_id, None)


def _forget(session: Session, conversation_id: int) -> None:
    known = session.info.get(_KNOWN)
    if known is not None:
        known.pop(conversation_id, None)


def conversation_and_open_case(*, session: Session, line_user_id: str
                               ) -> tuple[Conversation | None, Case | None]:
    """A resident's conversation and its open case, in one statement."""
    row = session.execute(_CONVERSATION_AND_CASE, {"line_user_id": line_user_id}).first()
    if row is None:
        return None, None
    conversation, case = row
    _remember(session, conversation.id, case)
    return conversation, case


def open_case_of(*, session: Session, conversation_id: int) -> Case | None:
    known = session.info.get(_KNOWN)
    if known is not None and conversation_id in known:
        case: Case | None = known[conversation_id]
        if case is None or case.status != CaseStatus.CLOSED:
            return case
    case = session.scalars(_OPEN_CASE, {"conversation_id": conversation_id}).first()
    _remember(session, conversation_id, case)
    return case


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
        # How they came (a department's link) goes with the case, where a counsellor may
        # correct it; the conversation keeps the first one for any later case.
        # A returning resident keeps the name the desk already knows them by.
        if conversation.pseudonym is None:
            conversation.pseudonym = new_pseudonym()
        case = Case(conversation_id=conversation.id, priority=wanted, team_id=r.team.id,
                    source=conversation.source, pseudonym=conversation.pseudonym)
        session.add(case)
        _remember(session, conversation.id, case)
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
    if wanted == Priority.IMMINENT:  # the team is told until two have seen it (once a case)
        emergency.raise_alert(session=session, case=case, rules=places.desk.emergency,
                              now=case.updated_at)
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
    _remember(session, conversation.id, closed)
    return closed


def close_withdrawn(*, session: Session, conversation: Conversation) -> Case | None:
    """Consent withdrawn: the case leaves the queue (and its holder's desk) at once, and says
    so. Its transcript is closed to counsellors from now on; retention erases it later."""
    case = open_case_of(session=session, conversation_id=conversation.id)
    if case is None:
        return None
    now = utcnow()
    case.consent = dict(conversation.consent)
    case.status, case.outcome, case.closed_at, case.updated_at = \
        CaseStatus.CLOSED, Outcome.WITHDRAWN, now, now
    case.transfer_request = None
    session.flush()
    _forget(session, conversation.id)
    return case


TRANSFER_POSTBACK = "tsunagu:transfer"


def transfer_postback(case_id: int, yes: bool) -> str:
    return f"{TRANSFER_POSTBACK}?case={case_id}&answer={'yes' if yes else 'no'}"


def parse_transfer_postback(data: str) -> tuple[int, bool] | None:
    """(case id, yes) of a transfer answer, or None for any other postback."""
    prefix = TRANSFER_POSTBACK + "?case="
    if not data.startswith(prefix):
        return None
    case_part, _, answer = data[len(prefix):].partition("&answer=")
    if not case_part.isdigit() or answer not in ("yes", "no"):
        return None
    return int(case_part), answer == "yes"


def pending_transfer(case: Case) -> dict[str, Any] | None:
    request = case.transfer_request
    return request if request and request.get("answer") is None else None


def answer_transfer(*, session: Session, conversation: Conversation, case_id: int,
                    yes: bool) -> str | None:
    """The resident's answer to a transfer a counsellor asked for. Returns the team it moved
    to (yes), "" (no: the case stays), or None when there is nothing of theirs to answer."""
    case = session.get(Case, case_id)
    if case is None or case.conversation_id != conversation.id \
            or case.status == CaseStatus.CLOSED:
        return None
    request = pending_transfer(case)
    if request is None:
        return None
    now = utcnow()
    case.transfer_request = {**request, "answer": "yes" if yes else "no",
                             "answered_at": now.isoformat()}
    case.updated_at = now
    if not yes:
        session.flush()
        return ""
    case.team_id = str(request["team"])
    colleague = request.get("counsellor")
    if colleague:
        case.status, case.claimed_by, case.claimed_at = CaseStatus.CLAIMED, int(colleague), now
    else:
        case.status, case.claimed_by, case.claimed_at = CaseStatus.OPEN, None, None
    session.flush()
    return case.team_id
