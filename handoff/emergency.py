"""Emergencies are never handled alone: an imminent case raises an alert that every counsellor
and supervisor who may see the case is shown until enough people (two by default) have
acknowledged it, and the case keeps a record of what was done (location asked, 119 or 110
called and by whom, the outcome). Services add and flush; the caller commits.

Whoever may see the case sees its alert, whatever their presence: an alert must not be missed
because someone forgot to say 対応可能. Escalation to an on-call address when nobody
acknowledges in time is handoff/oncall.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.content.schema import EmergencyRules
from handoff import access, audit
from handoff.models import (
    Case,
    Counsellor,
    EmergencyAck,
    EmergencyAction,
    EmergencyAlert,
)

# What a counsellor can record on the case, in the order it usually happens.
ACTIONS = {
    "location_asked": "所在地を確認した",
    "called_119": "119番に通報した",
    "called_110": "110番に通報した",
    "called_189": "189（児童相談所）に連絡した",
    "contacted_family": "家族に連絡した",
    "contacted_other": "関係機関に連絡した",
    "resolved": "安全を確認した・対応を終えた",
}
BY_WHOM_MAX, OUTCOME_MAX = 64, 200


class EmergencyError(ValueError):
    """A record that cannot be kept: a code the console words (handoff/console/notices.py)."""


def raise_alert(*, session: Session, case: Case, rules: EmergencyRules,
                now: datetime) -> EmergencyAlert:
    """The case's alert: the one still open, or the one raised since the case was (re)opened;
    else a new one, now. So a case in danger alerts once, and again only when it comes back
    to the queue (a follow-up answered) and the danger with it. The caller holds the resident's
    events in order (one source at a time), so two alerts are never raised at once."""
    existing = session.scalars(select(EmergencyAlert).where(
        EmergencyAlert.case_id == case.id,
        or_(EmergencyAlert.acknowledged_at.is_(None), EmergencyAlert.raised_at >= case.opened_at))
        .order_by(EmergencyAlert.id.desc()).limit(1)).first()
    if existing is not None:
        return existing
    alert = EmergencyAlert(case_id=case.id, team_id=case.team_id, raised_at=now,
                           escalate_at=now + timedelta(minutes=rules.escalate_after_minutes))
    session.add(alert)
    session.flush()
    return alert


@dataclass(frozen=True)
class Acknowledged:
    alert_id: int
    case_id: int
    count: int  # distinct people who acknowledged, this one included
    needed: int
    counted: bool  # False: this person had already acknowledged (a person counts once)

    @property
    def complete(self) -> bool:
        return self.count >= self.needed


def acknowledge(*, session: Session, alert_id: int, counsellor: Counsellor, now: datetime,
                rules: EmergencyRules | None = None) -> Acknowledged:
    """This person has seen the alert. Raises LookupError when there is no such alert or its
    case is not this account's to see (the console answers 404)."""
    needed = (rules or EmergencyRules()).acknowledgements
    # The row lock makes two people acknowledging at once count each other (PostgreSQL);
    # SQLite's writers take turns anyway.
    alert = session.scalars(select(EmergencyAlert).where(EmergencyAlert.id == alert_id)
                            .with_for_update()).first()
    case = session.get(Case, alert.case_id) if alert is not None else None
    if alert is None or case is None or access.why_visible(
            session=session, counsellor=counsellor, case=case, now=now) is None:
        raise LookupError(alert_id)
    # The same person twice (two tabs, a double click): one row, counted once.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    counted = session.scalar(insert(EmergencyAck).values(
        alert_id=alert.id, counsellor_id=counsellor.id, at=now)
        .on_conflict_do_nothing(index_elements=["alert_id", "counsellor_id"])
        .returning(EmergencyAck.id)) is not None
    count = int(session.scalar(select(func.count(EmergencyAck.id)).where(
        EmergencyAck.alert_id == alert.id)) or 0)
    if count >= needed and alert.acknowledged_at is None:
        session.execute(update(EmergencyAlert).where(
            EmergencyAlert.id == alert.id, EmergencyAlert.acknowledged_at.is_(None))
            .values(acknowledged_at=now))
    if counted:
        audit.record(session=session, counsellor=counsellor, action="emergency_ack",
                     case_id=alert.case_id, detail=f"alert {alert.id}: {count}/{needed}")
    session.flush()
    return Acknowledged(alert.id, alert.case_id, count, needed, counted)


@dataclass(frozen=True)
class Ack:
    counsellor_id: int
    name: str
    at: datetime


@dataclass(frozen=True)
class AlertView:
    """An alert as the banner shows it: no resident words, no place."""

    alert_id: int
    case_id: int
    pseudonym: str
    team_id: str
    raised_at: datetime
    escalate_at: datetime
    escalation: str
    acks: tuple[Ack, ...]
    needed: int
    acked_by_me: bool

    def minutes(self, now: datetime) -> int:
        return max(0, int((now - self.raised_at).total_seconds() // 60))


def _acks_of(session: Session, alert_ids: list[int]) -> dict[int, list[Ack]]:
    found: dict[int, list[Ack]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return found
    rows = session.execute(
        select(EmergencyAck.alert_id, EmergencyAck.counsellor_id, Counsellor.display_name,
               EmergencyAck.at)
        .join(Counsellor, Counsellor.id == EmergencyAck.counsellor_id)
        .where(EmergencyAck.alert_id.in_(alert_ids)).order_by(EmergencyAck.id))
    for alert_id, counsellor_id, name, at in rows:
        found[alert_id].append(Ack(counsellor_id, name, at))
    return found


def open_alerts_for(*, session: Session, counsellor: Counsellor, now: datetime,
                    rules: EmergencyRules | None = None) -> list[AlertView]:
    """Alerts not yet acknowledged by enough people, of the cases this account may see (its
    team's; a lead's or an administrator's: every team's), oldest first."""
    needed = (rules or EmergencyRules()).acknowledgements
    rows = session.execute(
        select(EmergencyAlert.id, EmergencyAlert.case_id, Case.pseudonym, Case.team_id,
               EmergencyAlert.raised_at, EmergencyAlert.escalate_at, EmergencyAlert.escalation)
        .join(Case, Case.id == EmergencyAlert.case_id)
        .where(EmergencyAlert.acknowledged_at.is_(None), access.visible(counsellor, now))
        .order_by(EmergencyAlert.raised_at, EmergencyAlert.id)).all()
    acks = _acks_of(session, [row[0] for row in rows])
    return [AlertView(alert_id, case_id, pseudonym, team_id, raised_at, escalate_at, escalation,
                      tuple(acks[alert_id]), needed,
                      any(a.counsellor_id == counsellor.id for a in acks[alert_id]))
            for alert_id, case_id, pseudonym, team_id, raised_at, escalate_at, escalation
            in rows]


@dataclass(frozen=True)
class CaseAlert:
    """A case's newest alert, for its page: when it was raised, who acknowledged, whether the
    on-call address was told."""

    alert_id: int
    raised_at: datetime
    acknowledged_at: datetime | None
    escalation: str
    escalated_at: datetime | None
    acks: tuple[Ack, ...]


def alert_of_case(*, session: Session, case_id: int) -> CaseAlert | None:
    alert = session.scalars(select(EmergencyAlert).where(EmergencyAlert.case_id == case_id)
                            .order_by(EmergencyAlert.id.desc()).limit(1)).first()
    if alert is None:
        return None
    return CaseAlert(alert.id, alert.raised_at, alert.acknowledged_at, alert.escalation,
                     alert.escalated_at, tuple(_acks_of(session, [alert.id])[alert.id]))


def record_action(*, session: Session, case: Case, counsellor: Counsellor, action: str,
                  by_whom: str | None, outcome: str | None, now: datetime) -> EmergencyAction:
    """One line of the case's emergency record, in staff words; audited."""
    if action not in ACTIONS:
        raise EmergencyError("emergency_action")
    by = " ".join((by_whom or "").split())[:BY_WHOM_MAX] or None
    result = " ".join((outcome or "").split())[:OUTCOME_MAX] or None
    row = EmergencyAction(case_id=case.id, counsellor_id=counsellor.id, action=action,
                          by_whom=by, outcome=result, at=now)
    session.add(row)
    session.flush()
    audit.record(session=session, counsellor=counsellor, action="emergency_action",
                 case_id=case.id, detail=f"{action} ({row.id})")
    return row


@dataclass(frozen=True)
class RecordLine:
    action: str
    label: str
    recorded_by: str
    by_whom: str | None
    outcome: str | None
    at: datetime


def record_of(*, session: Session, case_id: int) -> list[RecordLine]:
    """The case's emergency record, oldest first."""
    rows = session.execute(
        select(EmergencyAction, Counsellor.display_name)
        .join(Counsellor, Counsellor.id == EmergencyAction.counsellor_id)
        .where(EmergencyAction.case_id == case_id)
        .order_by(EmergencyAction.at, EmergencyAction.id))
    return [RecordLine(a.action, ACTIONS.get(a.action, a.action), name, a.by_whom, a.outcome,
                       a.at) for a, name in rows]
