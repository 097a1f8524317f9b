"""Support after the first reply (DOMAIN §3–§5): a plan agreed with the resident, the
coordination meetings held about it, monitoring at least every few months, and the end (終結)
or a new plan. The case stays open, held by the counsellor in charge, the whole time: the
resident hears that support has begun, never that their consultation is over.

Services add and flush; the caller commits (and audits)."""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.edge import outbox
from bot.flows.routing import date_text
from bot.line import text
from bot.releases.load import Content
from handoff import casework, followups
from handoff.casework import CaseworkError
from handoff.models import (
    Case,
    CaseMeeting,
    CaseStatus,
    Counsellor,
    MonitoringDecision,
    MonitoringRecord,
    Outcome,
    SupportPlan,
)

MONTHS = range(1, 13)  # between two monitorings: at least every 3 months is the practice
FOLLOWUP_KIND = "monitoring"
FOLLOWUP_AT = time(10, 0)  # on the monitoring day, Japan time: inside any desk's hours
# Who took part in a 支援調整会議, by role only (the record never names people).
MEETING_ROLES: dict[str, str] = {
    "counsellor": "相談支援員",
    "employment": "就労支援員",
    "household": "家計改善支援員",
    "welfare_office": "福祉事務所（生活保護）",
    "housing": "住まいの支援",
    "health": "保健・医療",
    "disability": "障害福祉",
    "elderly": "高齢者支援（地域包括）",
    "children": "子ども・学校",
    "minsei": "民生委員",
    "legal": "法律の専門家",
    "other": "その他",
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def active_plan(session: Session, case: Case) -> SupportPlan | None:
    return session.scalars(select(SupportPlan).where(
        SupportPlan.case_id == case.id, SupportPlan.ended_at.is_(None))
        .order_by(SupportPlan.id.desc())).first()


def start(*, session: Session, case: Case, counsellor: Counsellor, goals: str,
          agreed_on: date, months: int, ask_resident: bool, content: Content,
          now: datetime) -> SupportPlan:
    """A plan agreed with the resident: support begins (支援中). The resident is told, in
    their language, with the date of the next look at it."""
    if case.status != CaseStatus.CLAIMED:
        raise CaseworkError("not_holder")
    casework.check_may_act(case, counsellor)
    goals = goals.strip()
    if not goals:
        raise CaseworkError("plan_needs_goals")
    if months not in MONTHS:
        raise CaseworkError("plan_months", MONTHS.start, MONTHS.stop - 1)
    if active_plan(session, case) is not None:
        raise CaseworkError("plan_exists")
    plan = SupportPlan(case_id=case.id, counsellor_id=counsellor.id, goals=goals[:5000],
                       agreed_on=agreed_on, monitor_months=months,
                       next_monitoring_on=add_months(agreed_on, months),
                       ask_resident=ask_resident, created_at=now)
    session.add(plan)
    conversation = casework.conversation_of(session, case)
    followups.cancel(session=session, conversation_id=conversation.id, reason="supported",
                     kinds=["not_picked_up"])
    local = content.for_language(conversation.language)
    assert plan.next_monitoring_on is not None
    bubbles = [b.replace("{name}", counsellor.display_name)
               .replace("{next}", date_text(plan.next_monitoring_on, local.tr))
               for b in local.messages.support_started]
    outbox.enqueue(session, user_id=conversation.line_user_id,
                   messages=[text(b) for b in bubbles], conversation_id=conversation.id,
                   counsellor_id=counsellor.id)
    _ask_at_monitoring(session, case, plan, content)
    case.updated_at = now
    session.flush()
    return plan


def _ask_at_monitoring(session: Session, case: Case, plan: SupportPlan,
                       content: Content) -> None:
    """Where the resident agreed (and no message may endanger them), a message on the day
    the plan is looked at again; moved with the date, cancelled with the plan."""
    rule = content.followups.rules.get(FOLLOWUP_KIND)
    if not plan.ask_resident or case.no_followups or rule is None \
            or plan.next_monitoring_on is None:
        followups.cancel(session=session, conversation_id=case.conversation_id,
                         reason="plan", kinds=[FOLLOWUP_KIND])
        return
    due = datetime.combine(plan.next_monitoring_on, FOLLOWUP_AT,
                           tzinfo=content.followups.zone())
    followups.schedule(session=session, conversation_id=case.conversation_id,
                       kind=FOLLOWUP_KIND, text=rule.text, due_at=due, case_id=case.id)


def record_meeting(*, session: Session, case: Case, counsellor: Counsellor, held_on: date,
                   roles: list[str], decision: str, now: datetime) -> CaseMeeting:
    """A 支援調整会議 about this case (roles only, never names)."""
    casework.check_may_act(case, counsellor)
    decision = decision.strip()
    if not decision:
        raise CaseworkError("meeting_needs_decision")
    unknown = [r for r in roles if r not in MEETING_ROLES]
    if unknown or not roles:
        raise CaseworkError("meeting_roles")
    meeting = CaseMeeting(case_id=case.id, counsellor_id=counsellor.id, held_on=held_on,
                          roles=sorted(set(roles), key=list(MEETING_ROLES).index),
                          decision=decision[:5000], created_at=now)
    session.add(meeting)
    session.flush()
    return meeting


def record_monitoring(*, session: Session, case: Case, counsellor: Counsellor, held_on: date,
                      summary: str, decision: MonitoringDecision, content: Content,
                      now: datetime, new_goals: str = "",
                      months: int | None = None) -> MonitoringRecord:
    """A look at the plan with the resident. Continue: the next one after the plan's months.
    Re-plan: `new_goals` become the next plan. Close: support ends (終結) and the resident is
    thanked, in their language."""
    casework.check_may_act(case, counsellor)
    plan = active_plan(session, case)
    if plan is None:
        raise CaseworkError("no_plan")
    summary = summary.strip()
    if not summary:
        raise CaseworkError("monitoring_needs_summary")
    if decision == MonitoringDecision.REPLAN and not new_goals.strip():
        raise CaseworkError("plan_needs_goals")
    record = MonitoringRecord(case_id=case.id, plan_id=plan.id, counsellor_id=counsellor.id,
                              held_on=held_on, summary=summary[:5000], decision=decision,
                              created_at=now)
    session.add(record)
    if decision == MonitoringDecision.CONTINUE:
        plan.next_monitoring_on = add_months(held_on, plan.monitor_months)
        _ask_at_monitoring(session, case, plan, content)
    elif decision == MonitoringDecision.REPLAN:
        plan.ended_at, plan.end_reason, plan.next_monitoring_on = now, "replanned", None
        session.flush()  # the old plan is over before the new one starts
        start(session=session, case=case, counsellor=counsellor, goals=new_goals,
              agreed_on=held_on, months=months or plan.monitor_months,
              ask_resident=plan.ask_resident, content=content, now=now)
    else:
        plan.ended_at, plan.end_reason, plan.next_monitoring_on = now, "closed", None
        followups.cancel(session=session, conversation_id=case.conversation_id,
                         reason="closed", kinds=[FOLLOWUP_KIND])
        casework.close(session=session, case=case, counsellor=counsellor,
                       outcome=Outcome.SUPPORTED, detail="", content=content)
    case.updated_at = now
    session.flush()
    return record


@dataclass(frozen=True)
class Due:
    plan: SupportPlan
    case: Case
    overdue_days: int


def record_results(*, session: Session, case: Case, counsellor: Counsellor,
                   results: list[str], known: Collection[str]) -> list[str]:
    """What the support achieved (work found, housing kept ...), as the counsellor ticks it at
    a monitoring or when support ends: categories for the outcome figures, never words."""
    casework.check_may_act(case, counsellor)
    chosen = [r for r in dict.fromkeys(results) if r in known]
    if len(chosen) != len(set(results)):
        raise CaseworkError("results_unknown")
    case.results = chosen
    case.updated_at = utcnow()
    session.flush()
    return chosen


def due(session: Session, today: date, *, counsellor_id: int | None = None,
        within_days: int = 0, cases: ColumnElement[bool] | None = None) -> list[Due]:
    """Plans whose monitoring is due by `today` (+ `within_days`), oldest first: the
    counsellor's reminder. `counsellor_id`: only the plans that counsellor is in charge of;
    `cases`: only those cases (e.g. the ones a counsellor may see)."""
    stmt = (select(SupportPlan, Case).join(Case, Case.id == SupportPlan.case_id)
            .where(SupportPlan.ended_at.is_(None),
                   SupportPlan.next_monitoring_on <= today + timedelta(days=within_days))
            .order_by(SupportPlan.next_monitoring_on, SupportPlan.id))
    if counsellor_id is not None:
        stmt = stmt.where(SupportPlan.counsellor_id == counsellor_id)
    if cases is not None:
        stmt = stmt.where(cases)
    return [Due(plan, case, (today - plan.next_monitoring_on).days)
            for plan, case in session.execute(stmt)
            if plan.next_monitoring_on is not None]
