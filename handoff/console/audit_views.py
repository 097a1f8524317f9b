"""The audit log's page: a supervisor answers "who looked at this case, and when?" or "what did
this person do last night?" by filtering, not by scrolling. What each role may read is as
before: a supervisor their own team's cases and people, a lead or an administrator everyone's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, and_, or_, select

from bot.db.models import utcnow
from handoff import access, audit
from handoff.console.host import host
from handoff.console.security import Supervisor
from handoff.console.views import AUDIT_LABEL, _page
from handoff.models import AuditEntry, Case, Counsellor, sees_every_team

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 200
KINDS = {"acts": "操作と、相談を開いた記録（一覧での表示を除く）",
         "lists": "一覧・自動更新での表示だけ", "all": "すべて"}


@dataclass(frozen=True)
class Filters:
    case: int | None = None
    who: int | None = None
    kind: str = "acts"
    since: date | None = None
    until: date | None = None
    before: int | None = None


def parse(query: dict[str, str]) -> tuple[Filters, list[str]]:
    """The page's query, read forgivingly: a field that cannot be read is left out and named,
    the rest still applies."""
    problems: list[str] = []

    def number(key: str, label: str) -> int | None:
        raw = query.get(key, "").strip().lstrip("#＃")
        if not raw:
            return None
        if raw.isdecimal():
            return int(raw)
        problems.append(f"{label}は数字で入れてください（「{raw[:20]}」は使いませんでした）。")
        return None

    def day(key: str, label: str) -> date | None:
        raw = query.get(key, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"{label}の日付が読めませんでした。")
            return None

    kind = query.get("kind", "acts")
    filters = Filters(case=number("case", "相談の番号"), who=number("who", "人"),
                      kind=kind if kind in KINDS else "acts",
                      since=day("since", "期間のはじめ"), until=day("until", "期間のおわり"),
                      before=number("before", "ページ"))
    return filters, problems


def _where(filters: Filters, zone: tzinfo) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.case is not None:
        clauses.append(AuditEntry.case_id == filters.case)
    if filters.who is not None:
        clauses.append(or_(AuditEntry.counsellor_id == filters.who,
                           AuditEntry.account_id == filters.who))
    if filters.kind == "acts":
        clauses.append(AuditEntry.action.not_in(audit.LIST_ACTIONS))
    elif filters.kind == "lists":
        clauses.append(AuditEntry.action.in_(audit.LIST_ACTIONS))
    # Japan days: a night shift's 23:00 belongs to the day it reads as on the desk's clock.
    if filters.since is not None:
        clauses.append(AuditEntry.at >= datetime.combine(filters.since, time(), tzinfo=zone))
    if filters.until is not None:
        clauses.append(AuditEntry.at < datetime.combine(filters.until + timedelta(days=1),
                                                        time(), tzinfo=zone))
    return clauses


@router.get("/audit")
def audit_page(request: Request, me: Supervisor) -> HTMLResponse:
    """A supervisor reads the record of their own team's cases and people (what they did and
    what happened to their accounts); a lead or an administrator, everyone's, including
    failed logins under names that are no one's."""
    zone = host(request).content.followups.zone()
    filters, problems = parse(dict(request.query_params))
    clauses = _where(filters, zone)
    with host(request).sessions() as session:
        people = select(Counsellor.id, Counsellor.display_name).order_by(Counsellor.id)
        if not sees_every_team(me.role):
            team_cases = select(Case.id).where(access.visible(me, utcnow()))
            members = select(Counsellor.id).where(Counsellor.team_id == me.team_id) \
                if me.team_id else select(Counsellor.id).where(Counsellor.id == me.id)
            clauses.append(or_(
                AuditEntry.case_id.in_(team_cases), AuditEntry.counsellor_id.in_(members),
                AuditEntry.account_id.in_(members)))
            people = people.where(Counsellor.id.in_(members))
        entries = audit.recent(session=session, limit=PAGE, where=and_(*clauses),
                               before_id=filters.before)
        names = list(session.execute(people))
    shown = {k: v for k, v in request.query_params.items() if k != "before"}
    older = entries[-1][0].id if len(entries) == PAGE else None
    return _page(request, "audit.html", me=me, entries=entries, actions=AUDIT_LABEL,
                 japan=zone, filters=filters, problems=problems, kinds=KINDS, people=names,
                 shown=shown, older=older)
