"""Need-to-know: which cases a console account may see.

Residents choose a neighbouring desk precisely so that staff who may know them do not read them,
so a counsellor or supervisor sees only their own team's cases, a case they hold (a colleague
of another team handed it to them), and a case they opened by break-glass, which lasts a few
hours. A lead or an administrator sees every team's. Services add and flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from handoff.models import (
    PRIORITY_RANK,
    Case,
    CaseAccessGrant,
    CaseStatus,
    Counsellor,
    Priority,
    sees_every_team,
)

BREAK_GLASS_HOURS = 12  # one night's duty: the owning team is back by then
MIN_REASON = 8  # a reason, not "x"


class Why(StrEnum):
    """On what ground an account sees a case (the audit log says which)."""

    EVERY_TEAM = "every_team"
    TEAM = "team"
    HOLDER = "holder"
    BREAK_GLASS = "break_glass"


class AccessError(ValueError):
    """A break-glass that cannot be granted: a code the console words, then numbers."""


def _granted(counsellor: Counsellor, now: datetime) -> ColumnElement[bool]:
    return Case.id.in_(select(CaseAccessGrant.case_id).where(
        CaseAccessGrant.counsellor_id == counsellor.id, CaseAccessGrant.expires_at > now))


def visible(counsellor: Counsellor, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause for the cases this account may see."""
    if sees_every_team(counsellor.role):
        return Case.id.is_not(None)
    own = Case.team_id == counsellor.team_id if counsellor.team_id else false()
    # Null-safe, so that NOT visible(...) is true for an unclaimed case of another team.
    holding = and_(Case.claimed_by.is_not(None), Case.claimed_by == counsellor.id)
    return or_(own, holding, _granted(counsellor, now))


def why_visible(*, session: Session, counsellor: Counsellor, case: Case,
                now: datetime) -> Why | None:
    """Why this account may see the case, or None: it may not (the console answers 404, so
    a case of another team is not even confirmed to exist)."""
    if sees_every_team(counsellor.role):
        return Why.EVERY_TEAM
    if counsellor.team_id and case.team_id == counsellor.team_id:
        return Why.TEAM
    if case.claimed_by == counsellor.id:
        return Why.HOLDER
    grant = session.scalar(select(CaseAccessGrant.id).where(
        CaseAccessGrant.counsellor_id == counsellor.id, CaseAccessGrant.case_id == case.id,
        CaseAccessGrant.expires_at > now).limit(1))
    return Why.BREAK_GLASS if grant is not None else None


def may_list_team(counsellor: Counsellor, team_id: str) -> bool:
    return sees_every_team(counsellor.role) or team_id == counsellor.team_id


@dataclass(frozen=True)
class Elsewhere:
    """A case waiting in another team's queue, as little as break-glass needs: no answers,
    no words, no place."""

    case_id: int
    pseudonym: str
    team_id: str
    priority: str
    opened_at: datetime


def urgent_elsewhere(*, session: Session, counsellor: Counsellor,
                     now: datetime) -> list[Elsewhere]:
    """Imminent and high cases nobody has taken in the other teams' queues: what a counsellor
    on night duty may need to open for life safety."""
    if sees_every_team(counsellor.role):
        return []
    rows = session.execute(
        select(Case.id, Case.pseudonym, Case.team_id, Case.priority, Case.opened_at)
        .where(Case.status == CaseStatus.OPEN,
               Case.priority.in_([Priority.IMMINENT, Priority.HIGH]),
               ~visible(counsellor, now))
        .order_by(Case.opened_at)).all()
    found = [Elsewhere(*row) for row in rows]
    return sorted(found, key=lambda e: (PRIORITY_RANK[Priority(e.priority)], e.opened_at))


def break_glass(*, session: Session, counsellor: Counsellor, case: Case, reason: str,
                now: datetime) -> CaseAccessGrant:
    """Open a case of another team for life safety, for a few hours, with a reason."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise AccessError("break_glass_reason", MIN_REASON)
    if case.status == CaseStatus.CLOSED:
        raise AccessError("break_glass_closed")
    grant = CaseAccessGrant(case_id=case.id, counsellor_id=counsellor.id, reason=reason[:200],
                            granted_at=now,
                            expires_at=now + timedelta(hours=BREAK_GLASS_HOURS))
    session.add(grant)
    session.flush()
    return grant


@dataclass(frozen=True)
class GlassBroken:
    case_id: int
    pseudonym: str
    by: str
    reason: str
    at: datetime


def broken_for(*, session: Session, team_id: str | None, case_id: int | None = None,
               since: datetime) -> list[GlassBroken]:
    """Break-glass views of a team's cases (or of one case), newest first: the owning team
    sees who crossed into their cases, and why."""
    stmt = (select(CaseAccessGrant.case_id, Case.pseudonym, Counsellor.display_name,
                   CaseAccessGrant.reason, CaseAccessGrant.granted_at)
            .join(Case, Case.id == CaseAccessGrant.case_id)
            .join(Counsellor, Counsellor.id == CaseAccessGrant.counsellor_id)
            .where(CaseAccessGrant.granted_at >= since)
            .order_by(CaseAccessGrant.id.desc()))
    if case_id is not None:
        stmt = stmt.where(CaseAccessGrant.case_id == case_id)
    if team_id is not None:
        stmt = stmt.where(Case.team_id == team_id)
    return [GlassBroken(*row) for row in session.execute(stmt.limit(50))]
