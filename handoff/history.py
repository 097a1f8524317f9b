"""A returning resident's earlier cases, for the case page (「これまでの相談」) and the queue's
mark. Need-to-know holds here too: an earlier case of a desk the viewer may not see shows only
that it exists and when, never what was said; the page records a view of each case it shows
the content of (handoff/console/views.py). Retention needs no rule of its own: an erased
resident writes again as a new conversation, which has no earlier cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from handoff import access
from handoff.models import Case, CaseNote, Counsellor, Referral


@dataclass(frozen=True)
class Earlier:
    case_id: int
    team_id: str
    opened_at: datetime
    closed_at: datetime | None
    status: str
    shown: bool  # the viewer may read it; otherwise only the dates and the desk are given
    life_areas: tuple[str, ...] = ()
    municipality: str | None = None
    outcome: str | None = None
    outcome_detail: str | None = None
    notes: tuple[tuple[str, str, datetime], ...] = ()  # (author, words, when)
    referrals: tuple[str, ...] = ()  # recipients, as the resident agreed to them (or life safety)


def earlier_cases(*, session: Session, case: Case, viewer: Counsellor,
                  now: datetime) -> list[Earlier]:
    """The other cases of the case's conversation, newest first."""
    others = list(session.scalars(select(Case).where(
        Case.conversation_id == case.conversation_id, Case.id != case.id)
        .order_by(Case.opened_at.desc(), Case.id.desc())))
    if not others:
        return []
    readable = {c.id for c in others if access.why_visible(
        session=session, counsellor=viewer, case=c, now=now) is not None}
    notes: dict[int, list[tuple[str, str, datetime]]] = {}
    referred: dict[int, list[str]] = {}
    if readable:
        for case_id, author, words, at in session.execute(
                select(CaseNote.case_id, Counsellor.display_name, CaseNote.text,
                       CaseNote.created_at)
                .join(Counsellor, Counsellor.id == CaseNote.counsellor_id)
                .where(CaseNote.case_id.in_(readable)).order_by(CaseNote.id)):
            notes.setdefault(case_id, []).append((author, words, at))
        for case_id, recipient in session.execute(
                select(Referral.case_id, Referral.recipient).where(
                    Referral.case_id.in_(readable),
                    or_(Referral.status == "agreed", Referral.basis == "life_safety"))
                .order_by(Referral.id)):
            referred.setdefault(case_id, []).append(recipient)
    found = []
    for c in others:
        if c.id not in readable:
            found.append(Earlier(c.id, c.team_id, c.opened_at, c.closed_at, str(c.status),
                                 shown=False))
            continue
        found.append(Earlier(
            c.id, c.team_id, c.opened_at, c.closed_at, str(c.status), shown=True,
            life_areas=tuple(c.life_areas or ()), municipality=c.municipality,
            outcome=c.outcome, outcome_detail=c.outcome_detail,
            notes=tuple(notes.get(c.id, ())), referrals=tuple(referred.get(c.id, ()))))
    return found


def returning_counts(*, session: Session, cases: Sequence[Case]) -> dict[int, int]:
    """case id -> how many other cases its resident had, for the cases listed (one query)."""
    conversations = {c.conversation_id for c in cases}
    if not conversations:
        return {}
    totals = dict(session.execute(
        select(Case.conversation_id, func.count(Case.id))
        .where(Case.conversation_id.in_(conversations)).group_by(Case.conversation_id)).all())
    return {c.id: totals.get(c.conversation_id, 1) - 1 for c in cases
            if totals.get(c.conversation_id, 1) > 1}
