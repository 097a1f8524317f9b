"""Finding cases: my own, the open ones with a resident's newest words first, and the closed
ones by period, outcome, town, desk and pseudonym; always within what the account may see.
The console records each case a list shows as a view (handoff/audit.py record_list_view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from handoff.models import Case, CaseMessage, CaseStatus, Counsellor

PAGE = 50
STATUSES = ("open", "closed", "all")


class SearchError(ValueError):
    """A filter that cannot be read (a date that does not exist, an end before the start)."""


@dataclass(frozen=True)
class Filters:
    status: str = "open"  # open (with the claimed ones), closed, all
    mine: bool = False  # cases I hold or held
    start: date | None = None  # the period: closed (or, for open ones, opened) on these days
    end: date | None = None
    outcome: str | None = None
    municipality: str | None = None
    team: str | None = None
    pseudonym: str = ""
    page: int = 1


def parse(query: dict[str, str]) -> Filters:
    def day(name: str) -> date | None:
        value = (query.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise SearchError(name) from None

    start, end = day("start"), day("end")
    if start and end and end < start:
        raise SearchError("end")
    status = query.get("status") or "open"
    page = query.get("page") or "1"
    return Filters(status=status if status in STATUSES else "open",
                   mine=query.get("mine") == "1", start=start, end=end,
                   outcome=query.get("outcome") or None,
                   municipality=query.get("municipality") or None,
                   team=query.get("team") or None,
                   pseudonym=" ".join((query.get("pseudonym") or "").split())[:32],
                   page=max(1, int(page)) if page.isdigit() else 1)


def _like(words: str) -> str:
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Found:
    cases: list[Case]
    total: int
    last_words: dict[int, datetime]  # case id -> the resident's newest words on it

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


def find(*, session: Session, me: Counsellor, filters: Filters,
         visible: ColumnElement[bool], zone: tzinfo) -> Found:
    newest = (select(CaseMessage.case_id, func.max(CaseMessage.created_at).label("at"))
              .where(CaseMessage.sender == "resident").group_by(CaseMessage.case_id)
              .subquery())
    stmt: Any = select(Case, newest.c.at).outerjoin(newest, newest.c.case_id == Case.id) \
        .where(visible)
    if filters.status == "open":
        stmt = stmt.where(Case.status != CaseStatus.CLOSED)
    elif filters.status == "closed":
        stmt = stmt.where(Case.status == CaseStatus.CLOSED)
    if filters.mine:
        stmt = stmt.where(Case.claimed_by == me.id)
    moment = Case.closed_at if filters.status == "closed" else Case.opened_at
    if filters.start:
        stmt = stmt.where(moment >= datetime.combine(filters.start, time(), zone))
    if filters.end:
        stmt = stmt.where(moment < datetime.combine(filters.end + timedelta(days=1), time(),
                                                    zone))
    if filters.outcome:
        stmt = stmt.where(Case.outcome == filters.outcome)
    if filters.municipality:
        stmt = stmt.where(Case.municipality == filters.municipality)
    if filters.team:
        stmt = stmt.where(Case.team_id == filters.team)
    if filters.pseudonym:
        stmt = stmt.where(func.lower(Case.pseudonym).like(_like(filters.pseudonym),
                                                          escape="\\"))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if filters.status == "closed":
        order = [Case.closed_at.desc(), Case.id.desc()]
    else:  # the resident's newest words first, then the newest cases
        order = [newest.c.at.is_(None), newest.c.at.desc(), Case.opened_at.desc(),
                 Case.id.desc()]
    rows = session.execute(stmt.order_by(*order).limit(PAGE)
                           .offset((filters.page - 1) * PAGE)).all()
    return Found([case for case, _ in rows], total,
                 {case.id: at for case, at in rows if at is not None})
