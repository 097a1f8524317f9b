"""The console's actions for support after the first reply (the plan, coordination meetings,
monitoring) and the caseload page (mine, due for monitoring, closed by period)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff import access, audit, support
from handoff.casework import CaseworkError
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import CsrfChecked, CurrentCounsellor
from handoff.console.support_context import today_in_japan
from handoff.console.views import _act, _page
from handoff.models import (
    Case,
    CaseStatus,
    Counsellor,
    MonitoringDecision,
    Outcome,
    SupportPlan,
)

router = APIRouter(prefix="/console", include_in_schema=False)

def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise CaseworkError("support_date") from e


@router.post("/cases/{case_id}/support/plan", dependencies=[CsrfChecked])
def start_plan(request: Request, case_id: int, me: CurrentCounsellor,
               goals: Annotated[str, Form()], agreed_on: Annotated[str, Form()],
               months: Annotated[int, Form()],
               ask_resident: Annotated[bool, Form()] = False) -> Response:
    def work(session: Session, found: Case) -> str:
        plan = support.start(session=session, case=found, counsellor=me, goals=goals,
                             agreed_on=_day(agreed_on), months=months,
                             ask_resident=ask_resident, content=host(request).content,
                             now=utcnow())
        return f"plan {plan.id}: monitoring every {months} months"

    return _act(request, case_id, me, "support_plan", work,
                notices.url(f"/console/cases/{case_id}", "support_started"))


@router.post("/cases/{case_id}/support/results", dependencies=[CsrfChecked])
def record_results(request: Request, case_id: int, me: CurrentCounsellor,
                   results: Annotated[list[str] | None, Form()] = None) -> Response:
    def work(session: Session, found: Case) -> str:
        chosen = support.record_results(
            session=session, case=found, counsellor=me, results=results or [],
            known=host(request).content.places.referrals.results)
        return "results: " + (", ".join(chosen) or "none")

    return _act(request, case_id, me, "support_results", work,
                notices.url(f"/console/cases/{case_id}", "results_recorded") + "#results")


@router.post("/cases/{case_id}/support/meeting", dependencies=[CsrfChecked])
def record_meeting(request: Request, case_id: int, me: CurrentCounsellor,
                   held_on: Annotated[str, Form()], decision: Annotated[str, Form()],
                   roles: Annotated[list[str] | None, Form()] = None) -> Response:
    def work(session: Session, found: Case) -> str:
        meeting = support.record_meeting(session=session, case=found, counsellor=me,
                                         held_on=_day(held_on), roles=roles or [],
                                         decision=decision, now=utcnow())
        return f"meeting {meeting.id}: {', '.join(meeting.roles)}"

    return _act(request, case_id, me, "support_meeting", work,
                notices.url(f"/console/cases/{case_id}", "meeting_recorded"))


@router.post("/cases/{case_id}/support/monitoring", dependencies=[CsrfChecked])
def record_monitoring(request: Request, case_id: int, me: CurrentCounsellor,
                      held_on: Annotated[str, Form()], summary: Annotated[str, Form()],
                      decision: Annotated[MonitoringDecision, Form()],
                      new_goals: Annotated[str, Form()] = "",
                      months: Annotated[int | None, Form()] = None) -> Response:
    closing = decision == MonitoringDecision.CLOSE

    def work(session: Session, found: Case) -> str:
        record = support.record_monitoring(
            session=session, case=found, counsellor=me, held_on=_day(held_on),
            summary=summary, decision=decision, content=host(request).content, now=utcnow(),
            new_goals=new_goals, months=months)
        return f"monitoring {record.id}: {decision}"

    return _act(request, case_id, me, "support_monitoring", work,
                "/console/caseload" if closing
                else notices.url(f"/console/cases/{case_id}", "monitoring_recorded"))


@router.get("/caseload")
def caseload(request: Request, me: CurrentCounsellor, since: str = "",
             until: str = "") -> HTMLResponse:
    """The counsellor's caseload: their open cases (in support or not), the plans due for
    monitoring among the cases they may see (theirs first), and cases closed in a period."""
    today = today_in_japan()
    try:
        start = date.fromisoformat(since) if since else today - timedelta(days=30)
        end = date.fromisoformat(until) if until else today
    except ValueError:
        start, end = today - timedelta(days=30), today
    zone = host(request).content.followups.zone()
    now = utcnow()
    with host(request).sessions() as session, session.begin():
        visible = access.visible(me, now)
        mine = list(session.execute(
            select(Case, SupportPlan).outerjoin(SupportPlan, (SupportPlan.case_id == Case.id)
                                                & SupportPlan.ended_at.is_(None))
            .where(Case.status == CaseStatus.CLAIMED, Case.claimed_by == me.id)
            .order_by(SupportPlan.next_monitoring_on.is_(None), SupportPlan.next_monitoring_on,
                      Case.id)))
        due = support.due(session, today, within_days=7, cases=visible)
        due.sort(key=lambda d: (d.plan.counsellor_id != me.id, d.plan.next_monitoring_on))
        names = {i: name for i, name in session.execute(
            select(Counsellor.id, Counsellor.display_name))}
        closed = list(session.scalars(
            select(Case).where(visible, Case.status == CaseStatus.CLOSED,
                               Case.closed_at >= datetime.combine(start, datetime.min.time(),
                                                                  tzinfo=zone),
                               Case.closed_at < datetime.combine(end + timedelta(days=1),
                                                                 datetime.min.time(),
                                                                 tzinfo=zone))
            .order_by(Case.closed_at.desc()).limit(500)))
        audit.record_list_view(session=session, counsellor=me, action="caseload_view",
                               case_ids=[c.id for c, _ in mine] + [d.case.id for d in due]
                               + [c.id for c in closed], now=now)
    return _page(request, "caseload.html", me=me, mine=mine, due=due, closed=closed,
                 names=names, today=today, since=start.isoformat(), until=end.isoformat(),
                 supported=Outcome.SUPPORTED, zone=zone)
