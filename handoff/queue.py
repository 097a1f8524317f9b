"""The counsellors' queue: most urgent first, then longest waiting; claims are exclusive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff.models import PRIORITY_RANK, Case, CaseStatus, Counsellor, Priority

_RANK = when(*((Case.priority == p.value, rank) for p, rank in PRIORITY_RANK.items()),
             else_=len(PRIORITY_RANK))


def waiting(
    *, session: Session, team_ids: list[str] | None = None, municipality: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> list[Case]:
    """Open cases in the order a counsellor should take them (of those `visible` to them)."""
    stmt = select(Case).where(Case.status == CaseStatus.OPEN)
    if visible is not None:
        stmt = stmt.where(visible)
    if team_ids:
        stmt = stmt.where(Case.team_id.in_(team_ids))
    if municipality:
        stmt = stmt.where(Case.municipality == municipality)
    return list(session.scalars(stmt.order_by(_RANK, Case.opened_at, Case.id)))


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    holder: str | None  # display name of who has the case, when someone does
    claimed_at: datetime | None


def claim(*, session: Session, case_id: int, counsellor: Counsellor) -> ClaimResult:
    """Take an open case. Of two counsellors claiming at once exactly one wins: the update
    only matches while the case is still open, and the database serialises the two writes."""
    now = utcnow()
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, Case.status == CaseStatus.OPEN)
        .values(status=CaseStatus.CLAIMED, claimed_by=counsellor.id, claimed_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return ClaimResult(True, counsellor.display_name, now)
    row = session.execute(
        select(Counsellor.display_name, Case.claimed_at)
        .join(Counsellor, Counsellor.id == Case.claimed_by, isouter=True)
        .where(Case.id == case_id)
    ).first()
    return ClaimResult(False, row[0] if row else None, row[1] if row else None)


def holding(*, session: Session, counsellor: Counsellor) -> int:
    """How many chats the counsellor has now."""
    return int(session.scalar(select(func.count(Case.id)).where(
        Case.status == CaseStatus.CLAIMED, Case.claimed_by == counsellor.id)) or 0)


def at_capacity(*, session: Session, counsellor: Counsellor) -> bool:
    return counsellor.capacity is not None and \
        holding(session=session, counsellor=counsellor) >= counsellor.capacity


def may_take(case: Case, *, full: bool) -> bool:
    """A counsellor at capacity still takes a case in imminent danger: a life comes before a
    fair load, and nobody else may be free."""
    return not full or case.priority == Priority.IMMINENT


def take_next(*, session: Session, counsellor: Counsellor, team_ids: list[str] | None,
              visible: ColumnElement[bool]) -> Case | None:
    """Claim the top of the queue for this counsellor; when someone is quicker, the next one.
    None: nothing left that they may take."""
    full = at_capacity(session=session, counsellor=counsellor)
    for case in waiting(session=session, team_ids=team_ids, visible=visible):
        if not may_take(case, full=full):
            continue
        if claim(session=session, case_id=case.id, counsellor=counsellor).won:
            session.refresh(case)
            return case
    return None


@dataclass(frozen=True)
class Load:
    """One counsellor as the offer weighs them."""

    counsellor_id: int
    available: bool  # 対応可能 now, and a role that answers residents
    holding: int
    capacity: int | None


def least_loaded(people: list[Load]) -> int | None:
    """Who the top case is suggested to: of those available and under their capacity, the one
    holding the fewest chats (the lowest id among equals, so every page agrees). None: nobody."""
    free = [p for p in people if p.available and (p.capacity is None or p.holding < p.capacity)]
    if not free:
        return None
    return min(free, key=lambda p: (p.holding, p.counsellor_id)).counsellor_id
