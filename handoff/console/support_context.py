"""What the case page shows of support after the first reply (handoff/support.py): the
current plan, earlier ones, coordination meetings and monitorings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff import support
from handoff.models import (
    Case,
    CaseMeeting,
    Counsellor,
    MonitoringDecision,
    MonitoringRecord,
    SupportPlan,
)
from handoff.outcomes import japan_day

DECISION_LABEL = {MonitoringDecision.CONTINUE: "計画を続ける",
                  MonitoringDecision.REPLAN: "計画を見直す",
                  MonitoringDecision.CLOSE: "支援を終える（終結）"}
END_LABEL = {"replanned": "見直しで終了", "closed": "終結"}


def today_in_japan(now: datetime | None = None) -> date:
    return japan_day(now or utcnow())


def support_context(session: Session, case: Case, *, default_months: int) -> dict[str, Any]:
    """What the case page shows of the plan: the current one, earlier ones, meetings and
    monitorings, newest last."""
    plans = list(session.scalars(select(SupportPlan).where(SupportPlan.case_id == case.id)
                                 .order_by(SupportPlan.id)))
    names = {i: name for i, name in session.execute(
        select(Counsellor.id, Counsellor.display_name).where(
            Counsellor.id.in_({p.counsellor_id for p in plans} or {0})))}
    active = next((p for p in reversed(plans) if p.ended_at is None), None)
    today = today_in_japan()
    return {
        "plan": active,
        "plan_in_charge": names.get(active.counsellor_id) if active else None,
        "plan_overdue": bool(active and active.next_monitoring_on
                             and active.next_monitoring_on < today),
        "earlier_plans": [p for p in plans if p.ended_at is not None],
        "meetings": list(session.scalars(select(CaseMeeting).where(
            CaseMeeting.case_id == case.id).order_by(CaseMeeting.held_on, CaseMeeting.id))),
        "monitorings": list(session.scalars(select(MonitoringRecord).where(
            MonitoringRecord.case_id == case.id).order_by(MonitoringRecord.held_on,
                                                          MonitoringRecord.id))),
        "meeting_roles": support.MEETING_ROLES,
        "decision_label": DECISION_LABEL, "end_label": END_LABEL,
        "months": list(support.MONTHS), "default_months": default_months,
        "today": today.isoformat(),
    }


