"""Support after the first reply, through the console, the webhook and the LINE emulator: a plan
keeps the case open and tells the resident support has begun; monitoring is due on its date
(explicit clock) for the counsellor and, where the resident agreed, for them; monitoring goes
on, re-plans or closes; coordination meetings are kept by role; erasure keeps no words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.content.languages import IDENTITY
from bot.db.models import utcnow
from bot.flows.routing import date_text
from handoff import support
from handoff.followups import dispatch_due
from handoff.models import (
    AuditEntry,
    Case,
    CaseMeeting,
    CaseStatus,
    Counsellor,
    FollowUp,
    MonitoringRecord,
    Outcome,
    SupportPlan,
)
from handoff.outcomes import japan_day
from handoff.retention import erase
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref")]


def claimed_case(live: LiveApp) -> tuple[Resident, int, object, str]:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    return r, case_id, sato, token


def plan_of(live: LiveApp, case_id: int) -> SupportPlan | None:
    with live.session() as s:
        return s.scalars(select(SupportPlan).where(SupportPlan.case_id == case_id,
                                                   SupportPlan.ended_at.is_(None))).first()


def test_months_are_added_to_the_calendar() -> None:
    assert support.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert support.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert support.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert support.add_months(date(2026, 12, 4), 12) == date(2027, 12, 4)
    assert date_text(date(2026, 12, 4), IDENTITY) == "12月4日（金）"


def test_a_plan_keeps_the_case_open_and_tells_the_resident_support_begins(
        live: LiveApp) -> None:
    r, case_id, sato, token = claimed_case(live)
    before = len(r.bot_messages())
    # Closing "to continue support" is no longer a way to end a case.
    refused = sato.post(f"/console/cases/{case_id}/close",
                        data={"csrf": token, "outcome": "plan"}, follow_redirects=True)
    assert "支援計画" in refused.text and "終了せずに" in refused.text
    answer = sato.post(f"/console/cases/{case_id}/support/plan", data={
        "csrf": token, "goals": "家賃を払い続けられるようにしたい。仕事を見つけたい。",
        "agreed_on": "2026-12-04", "months": "3", "ask_resident": "true"},
        follow_redirects=True)
    assert "支援計画を記録しました" in answer.text
    assert "2027年03月04日" in answer.text and "家賃を払い続けられる" in answer.text

    plan = plan_of(live, case_id)
    assert plan is not None and plan.next_monitoring_on == date(2027, 3, 4)
    assert plan.monitor_months == 3 and plan.ask_resident
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLAIMED and case.outcome is None
        assert s.scalars(select(AuditEntry.action).where(
            AuditEntry.case_id == case_id, AuditEntry.action == "support_plan")).one()
    wait_for(lambda: len(r.bot_messages()) >= before + 2)
    said = texts(r.bot_messages()[before:])
    assert "相談員の佐藤と、これからの支援の計画を一緒に決めました" in said
    assert "3月4日（木）ごろ" in said
    assert "終わりにします" not in said

    # A second plan while one runs is refused: a new one comes from monitoring.
    twice = sato.post(f"/console/cases/{case_id}/support/plan", data={
        "csrf": token, "goals": "別の目標", "agreed_on": "2026-12-05", "months": "3"},
        follow_redirects=True)
    assert "すでに進行中の支援計画があります" in twice.text


def test_monitoring_is_due_on_its_date_for_the_counsellor_and_the_resident(
        live: LiveApp) -> None:
    r, case_id, sato, token = claimed_case(live)
    sato.post(f"/console/cases/{case_id}/support/plan", data={
        "csrf": token, "goals": "生活を立て直したい", "agreed_on": "2026-12-04",
        "months": "2", "ask_resident": "true"})
    plan = plan_of(live, case_id)
    assert plan is not None and plan.next_monitoring_on == date(2027, 2, 4)

    with live.session() as s:
        assert case_id not in [d.case.id for d in support.due(s, date(2027, 2, 3))]
        [due] = [d for d in support.due(s, date(2027, 2, 4)) if d.case.id == case_id]
        assert due.overdue_days == 0
        mine = [d.case.id for d in support.due(s, date(2027, 2, 10), counsellor_id=due.plan.
                                                   counsellor_id)]
        assert case_id in mine
        asked = s.scalars(select(FollowUp).where(FollowUp.case_id == case_id,
                                                 FollowUp.kind == "monitoring")).one()
        assert asked.due_at == datetime(2027, 2, 4, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

    # The day before, nothing goes; on the day, the resident is asked how things are.
    before = len(r.bot_messages())
    with live.session() as s, s.begin():
        rules = live.runtime.content.followups
        assert dispatch_due(session=s, rules=rules,
                            now=datetime(2027, 2, 3, 1, 0, tzinfo=UTC)) == 0
        assert dispatch_due(session=s, rules=rules,
                            now=datetime(2027, 2, 4, 1, 0, tzinfo=UTC)) >= 1
    live.runtime.wake_outbox()
    wait_for(lambda: "一緒に決めた計画のこと" in texts(r.bot_messages()[before:]))

    # The counsellor's caseload lists it while it is due (its date is today or past).
    assert 'id="monitoring-due"' not in sato.get("/console/").text  # nothing due yet
    with live.session() as s, s.begin():
        stored = s.get(SupportPlan, plan.id)
        assert stored is not None
        stored.next_monitoring_on = japan_day(utcnow()) - timedelta(days=3)
    page = sato.get("/console/caseload")
    assert page.status_code == 200
    # Every page reminds the counsellor in charge (here: this plan and none of the others).
    assert 'id="monitoring-due"' in sato.get("/console/").text
    due_part = page.text.split('id="due"')[1].split('id="mine"')[0]
    assert f"/console/cases/{case_id}" in due_part and "3日過ぎています" in due_part
    mine_part = page.text.split('id="mine"')[1].split('id="closed"')[0]
    assert f"/console/cases/{case_id}" in mine_part and "支援中" in mine_part

    # Monitoring with "continue": the next one after the plan's months, from the day held.
    sato.post(f"/console/cases/{case_id}/support/monitoring", data={
        "csrf": token, "held_on": "2027-02-05", "summary": "仕事の面接が決まった",
        "decision": "continue"})
    plan = plan_of(live, case_id)
    assert plan is not None and plan.next_monitoring_on == date(2027, 4, 5)
    with live.session() as s:
        moved = s.scalars(select(FollowUp).where(FollowUp.case_id == case_id,
                                                 FollowUp.kind == "monitoring",
                                                 FollowUp.state == "scheduled")).one()
        assert moved.due_at == datetime(2027, 4, 5, 1, 0, tzinfo=UTC)


def test_a_new_plan_from_monitoring_and_the_end_of_support(live: LiveApp) -> None:
    r, case_id, sato, token = claimed_case(live)
    sato.post(f"/console/cases/{case_id}/support/plan", data={
        "csrf": token, "goals": "借金の整理", "agreed_on": "2026-12-04", "months": "3"})
    first = plan_of(live, case_id)
    assert first is not None and not first.ask_resident
    with live.session() as s:
        assert s.scalars(select(FollowUp).where(FollowUp.case_id == case_id,
                                                FollowUp.kind == "monitoring",
                                                FollowUp.state == "scheduled")).first() is None
    no_goals = sato.post(f"/console/cases/{case_id}/support/monitoring", data={
        "csrf": token, "held_on": "2027-03-01", "summary": "整理は済んだ",
        "decision": "replan"}, follow_redirects=True)
    assert "目標を、相談者の言葉で" in no_goals.text
    sato.post(f"/console/cases/{case_id}/support/monitoring", data={
        "csrf": token, "held_on": "2027-03-01", "summary": "整理は済んだ",
        "decision": "replan", "new_goals": "仕事を続ける", "months": "1"})
    second = plan_of(live, case_id)
    assert second is not None and second.id != first.id and second.goals == "仕事を続ける"
    assert second.next_monitoring_on == date(2027, 4, 1)
    with live.session() as s:
        old = s.get(SupportPlan, first.id)
        assert old is not None and old.end_reason == "replanned"

    meeting = sato.post(f"/console/cases/{case_id}/support/meeting", data={
        "csrf": token, "held_on": "2027-03-10", "roles": ["employment", "counsellor"],
        "decision": "ハローワークと一緒に求人を探す"}, follow_redirects=True)
    assert "支援調整会議を記録しました" in meeting.text and "就労支援員" in meeting.text
    nameless = sato.post(f"/console/cases/{case_id}/support/meeting", data={
        "csrf": token, "held_on": "2027-03-10", "roles": ["佐藤さん"], "decision": "x"},
        follow_redirects=True)
    assert "参加した機関・役割を選んでください" in nameless.text
    with live.session() as s:
        [held] = s.scalars(select(CaseMeeting).where(CaseMeeting.case_id == case_id)).all()
        assert held.roles == ["counsellor", "employment"]

    before = len(r.bot_messages())
    closed = sato.post(f"/console/cases/{case_id}/support/monitoring", data={
        "csrf": token, "held_on": "2027-04-01", "summary": "仕事が続いている",
        "decision": "close"})
    assert closed.headers["location"] == "/console/caseload"
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLOSED
        assert case.outcome == Outcome.SUPPORTED
        assert [m.decision for m in s.scalars(select(MonitoringRecord).where(
            MonitoringRecord.case_id == case_id).order_by(MonitoringRecord.id))] == [
            "replan", "close"]
    assert plan_of(live, case_id) is None
    wait_for(lambda: len(r.bot_messages()) >= before + 2)
    said = texts(r.bot_messages()[before:])
    assert "これまでの支援を、いったん区切りにします" in said
    assert "ご相談をいったん終わりにします" not in said
    page = sato.get("/console/caseload")
    assert f"/console/cases/{case_id}" in page.text.split('id="closed"')[1]
    assert "支援を終えた（終結）" in page.text

    # Erasure: the plans, meeting and monitorings stay counted; their words go.
    with live.session() as s, s.begin():
        erase(session=s, conversation=s.get(type(conversation_of(live, r)),
                                            conversation_of(live, r).id), now=utcnow())
    with live.session() as s:
        assert {p.goals for p in s.scalars(select(SupportPlan).where(
            SupportPlan.case_id == case_id))} == {""}
        assert {m.summary for m in s.scalars(select(MonitoringRecord).where(
            MonitoringRecord.case_id == case_id))} == {""}
        assert s.scalars(select(CaseMeeting.decision).where(
            CaseMeeting.case_id == case_id)).one() == ""


def test_only_the_counsellor_in_charge_plans(live: LiveApp) -> None:
    _, case_id, _, _ = claimed_case(live)
    suzuki = logged_in(live, "suzuki")
    token = csrf_of(suzuki, f"/console/cases/{case_id}")
    answer = suzuki.post(f"/console/cases/{case_id}/support/plan", data={
        "csrf": token, "goals": "x", "agreed_on": "2026-12-04", "months": "3"},
        follow_redirects=True)
    assert "担当していないため" in answer.text
    assert plan_of(live, case_id) is None
    with live.session() as s:
        me = s.scalars(select(Counsellor).where(Counsellor.username == "suzuki")).one()
        assert me is not None
