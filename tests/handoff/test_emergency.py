"""Emergencies are never handled alone: an imminent case raises one alert that its team sees
until two different people acknowledge it, and the case keeps an audited emergency record."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from line_emulator import events as line_events
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.content.schema import EmergencyRules
from bot.db.models import Conversation, utcnow
from handoff import emergency
from handoff.models import (
    AuditEntry,
    Case,
    CaseAccessGrant,
    Counsellor,
    EmergencyAck,
    EmergencyAction,
    EmergencyAlert,
    Priority,
    Role,
)
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    add_staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    wait_for,
)

IMMINENT = "今から飛び降りて死にます"


# ---------------------------------------------------------------------- the domain


def person(s: Session, role: Role = Role.COUNSELLOR, team: str | None = "pref") -> Counsellor:
    name = f"u{uuid.uuid4().hex[:10]}"
    account = Counsellor(username=name, display_name=name, role=role, team_id=team,
                         password_hash="-")
    s.add(account)
    s.flush()
    return account


def imminent_case(s: Session, team: str = "pref") -> Case:
    conversation = Conversation(line_user_id=line_events.new_user_id(), flow_id="intake",
                                flow_version="v", state="emergency")
    s.add(conversation)
    s.flush()
    case = Case(conversation_id=conversation.id, team_id=team, priority=Priority.IMMINENT,
                basis="life_safety")
    s.add(case)
    s.flush()
    return case


def audit_of(s: Session, case_id: int, action: str) -> list[AuditEntry]:
    return list(s.scalars(select(AuditEntry).where(
        AuditEntry.case_id == case_id, AuditEntry.action == action).order_by(AuditEntry.id)))


def test_raising_twice_keeps_one_open_alert(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s)
        first = emergency.raise_alert(session=s, case=case, now=now,
                                      rules=EmergencyRules(escalate_after_minutes=7))
        again = emergency.raise_alert(session=s, case=case, now=now + timedelta(minutes=1),
                                      rules=EmergencyRules())
        assert again.id == first.id
        assert first.escalate_at == now + timedelta(minutes=7)
        assert first.team_id == "pref" and first.escalation == "none"
        assert len(s.scalars(select(EmergencyAlert).where(
            EmergencyAlert.case_id == case.id)).all()) == 1


def test_a_case_alerts_again_only_once_reopened(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s)
        case.opened_at = now
        first = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(), now=now)
        for _ in range(2):
            emergency.acknowledge(session=s, alert_id=first.id, counsellor=person(s), now=now)
        # Imminent again while the team is on it: nothing new to raise.
        later = now + timedelta(hours=1)
        assert emergency.raise_alert(session=s, case=case, rules=EmergencyRules(),
                                     now=later).id == first.id
        # Closed, then back in the queue (a follow-up answered), and in danger again: raised.
        case.opened_at = later
        again = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(),
                                      now=later + timedelta(minutes=1))
        assert again.id != first.id and again.acknowledged_at is None


def test_two_different_people_must_acknowledge(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s)
        alert = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(), now=now)
        sato, suzuki = person(s), person(s, Role.SUPERVISOR)
        first = emergency.acknowledge(session=s, alert_id=alert.id, counsellor=sato, now=now)
        assert (first.count, first.needed, first.counted, first.complete) == (1, 2, True, False)
        # The same person again (a second tab, a double click) does not count twice.
        twice = emergency.acknowledge(session=s, alert_id=alert.id, counsellor=sato, now=now)
        assert (twice.count, twice.counted, twice.complete) == (1, False, False)
        s.refresh(alert)
        assert alert.acknowledged_at is None
        seen = emergency.open_alerts_for(session=s, counsellor=suzuki, now=now)
        mine = [a for a in seen if a.alert_id == alert.id]
        assert len(mine) == 1 and not mine[0].acked_by_me
        assert [a.name for a in mine[0].acks] == [sato.display_name]

        later = now + timedelta(minutes=2)
        second = emergency.acknowledge(session=s, alert_id=alert.id, counsellor=suzuki,
                                       now=later)
        assert (second.count, second.complete) == (2, True)
        s.refresh(alert)
        assert alert.acknowledged_at == later
        assert alert.id not in {a.alert_id for a in emergency.open_alerts_for(
            session=s, counsellor=sato, now=later)}
        assert s.scalars(select(EmergencyAck.counsellor_id).where(
            EmergencyAck.alert_id == alert.id)).all() == [sato.id, suzuki.id]
        acks = audit_of(s, case.id, "emergency_ack")
        assert [(e.counsellor_id, e.detail) for e in acks] == [
            (sato.id, f"alert {alert.id}: 1/2"), (suzuki.id, f"alert {alert.id}: 2/2")]


def test_the_content_sets_how_many_must_acknowledge(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s)
        alert = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(), now=now)
        three = EmergencyRules(acknowledgements=3)
        for _ in range(2):
            emergency.acknowledge(session=s, alert_id=alert.id, counsellor=person(s), now=now,
                                  rules=three)
        s.refresh(alert)
        assert alert.acknowledged_at is None
        [shown] = [a for a in emergency.open_alerts_for(
            session=s, counsellor=person(s), now=now, rules=three) if a.alert_id == alert.id]
        assert (len(shown.acks), shown.needed) == (2, 3)
        emergency.acknowledge(session=s, alert_id=alert.id, counsellor=person(s), now=now,
                              rules=three)
        s.refresh(alert)
        assert alert.acknowledged_at is not None


def test_an_alert_is_shown_to_whoever_may_see_its_case(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s, team="kawabe")
        alert = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(), now=now)
        team_counsellor = person(s, team="kawabe")
        team_counsellor.presence = "off"  # forgot to say 対応可能: shown all the same
        team_supervisor = person(s, Role.SUPERVISOR, team="kawabe")
        lead, admin = person(s, Role.LEAD, team=None), person(s, Role.ADMIN, team=None)
        other, other_supervisor = person(s, team="midori"), person(s, Role.SUPERVISOR, "midori")
        glass = person(s, team="midori")
        s.add(CaseAccessGrant(case_id=case.id, counsellor_id=glass.id, reason="夜間のため",
                              granted_at=now, expires_at=now + timedelta(hours=12)))
        s.flush()

        def sees(account: Counsellor) -> bool:
            return alert.id in {a.alert_id for a in emergency.open_alerts_for(
                session=s, counsellor=account, now=now)}

        for account in (team_counsellor, team_supervisor, lead, admin, glass):
            assert sees(account), account.role
        for account in (other, other_supervisor):
            assert not sees(account)
            with pytest.raises(LookupError):
                emergency.acknowledge(session=s, alert_id=alert.id, counsellor=account,
                                      now=now)
        with pytest.raises(LookupError):
            emergency.acknowledge(session=s, alert_id=10**9, counsellor=lead, now=now)
        assert s.scalars(select(EmergencyAck).where(EmergencyAck.alert_id == alert.id)
                         ).all() == []


def test_the_emergency_record_is_kept_and_audited(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as s, s.begin():
        case = imminent_case(s)
        sato = person(s)
        emergency.record_action(session=s, case=case, counsellor=sato, action="location_asked",
                                by_whom=None, outcome="  自宅に  いると確認  ", now=now)
        emergency.record_action(session=s, case=case, counsellor=sato, action="called_119",
                                by_whom="主任の鈴木", outcome="救急車が向かった",
                                now=now + timedelta(minutes=3))
        with pytest.raises(emergency.EmergencyError):
            emergency.record_action(session=s, case=case, counsellor=sato, action="drop table",
                                    by_whom=None, outcome=None, now=now)
        lines = emergency.record_of(session=s, case_id=case.id)
        assert [(x.label, x.recorded_by, x.by_whom, x.outcome) for x in lines] == [
            ("所在地を確認した", sato.display_name, None, "自宅に いると確認"),
            ("119番に通報した", sato.display_name, "主任の鈴木", "救急車が向かった")]
        rows = s.scalars(select(EmergencyAction).where(EmergencyAction.case_id == case.id)
                         .order_by(EmergencyAction.id)).all()
        assert [e.detail for e in audit_of(s, case.id, "emergency_action")] == [
            f"location_asked ({rows[0].id})", f"called_119 ({rows[1].id})"]


# ---------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", Role.SUPERVISOR, "pref"),
            Staff("tanaka", "田中", team_id="midori")]


def alerts_of(live: LiveApp, case_id: int) -> list[EmergencyAlert]:
    with live.session() as s:
        return list(s.scalars(select(EmergencyAlert).where(EmergencyAlert.case_id == case_id)))


def case_of(live: LiveApp, r: Resident) -> Case:
    with live.session() as s:
        return s.scalars(select(Case).where(
            Case.conversation_id == conversation_of(live, r).id)).one()


def test_an_imminent_message_raises_one_alert_for_its_desk(live: LiveApp) -> None:
    r = Resident(live)
    r.say(IMMINENT)
    case = case_of(live, r)
    assert case.priority == Priority.IMMINENT
    [alert] = alerts_of(live, case.id)
    assert alert.team_id == case.team_id == "pref"  # no town given: the default desk
    assert alert.escalate_at - alert.raised_at == timedelta(minutes=5)  # places.yaml's default
    r.say("本当にもう終わりにします。今夜死のうと思う")  # imminent again: the same alert
    assert len(alerts_of(live, case.id)) == 1


def test_a_case_raised_to_imminent_raises_an_alert(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    assert alerts_of(live, case_id) == []  # a consented case of normal priority: none
    r.say(IMMINENT)
    [alert] = alerts_of(live, case_id)
    assert alert.acknowledged_at is None


def banner(client: httpx.Client) -> str:
    answer = client.get("/console/fragments/alerts")
    assert answer.status_code == 200
    return answer.text


def section_of(html: str, case_id: int) -> str:
    found = re.search(rf'<section class="alert[^"]*"[^>]*>(?:(?!</section>).)*'
                      rf'/console/cases/{case_id}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_the_banner_asks_two_people_and_then_goes(live: LiveApp) -> None:
    r = Resident(live)
    r.say(IMMINENT)
    case = case_of(live, r)
    [alert] = alerts_of(live, case.id)
    sato, suzuki, tanaka = (logged_in(live, n) for n in ("sato", "suzuki", "tanaka"))

    shown = section_of(banner(sato), case.id)
    assert case.pseudonym in shown and "確認しました" in shown and "0 / 2" in shown
    assert IMMINENT not in banner(sato)  # the resident's words are on the case page only
    assert section_of(banner(tanaka), case.id) == ""  # another desk's case
    # Another desk's counsellor cannot acknowledge it either (as if it did not exist).
    refused = tanaka.post(f"/console/alerts/{alert.id}/ack",
                          data={"csrf": csrf_of(tanaka, "/console/")})
    assert refused.status_code == 404
    assert sato.post(f"/console/alerts/{alert.id}/ack").status_code == 403  # no CSRF token

    token = csrf_of(sato, "/console/")
    done = sato.post(f"/console/alerts/{alert.id}/ack", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/console/fragments/alerts"
    again = sato.post(f"/console/alerts/{alert.id}/ack", data={"csrf": token})
    assert again.status_code == 303
    mine = section_of(banner(sato), case.id)
    assert "1 / 2" in mine and "確認済み" in mine and "確認しました</button>" not in mine
    theirs = section_of(banner(suzuki), case.id)
    assert "1 / 2" in theirs and "佐藤" in theirs and "確認しました</button>" in theirs

    suzuki.post(f"/console/alerts/{alert.id}/ack", data={"csrf": csrf_of(suzuki, "/console/")})
    assert section_of(banner(sato), case.id) == section_of(banner(suzuki), case.id) == ""
    with live.session() as s:
        assert s.get(EmergencyAlert, alert.id).acknowledged_at is not None  # type: ignore[union-attr]
        assert len(audit_of(s, case.id, "emergency_ack")) == 2


def test_the_case_page_keeps_the_emergency_record(live: LiveApp) -> None:
    r = Resident(live)
    r.say(IMMINENT)
    case = case_of(live, r)
    sato, tanaka = logged_in(live, "sato"), logged_in(live, "tanaka")
    page = sato.get(f"/console/cases/{case.id}").text
    assert "緊急対応の記録" in page and "まだだれも確認していません" in page

    token = csrf_of(sato, f"/console/cases/{case.id}")
    form = {"action": "called_119", "by_whom": "佐藤", "outcome": "救急車が向かった",
            "csrf": token}
    assert tanaka.post(f"/console/cases/{case.id}/emergency",
                       data={**form, "csrf": csrf_of(tanaka, "/console/")}).status_code == 404
    done = sato.post(f"/console/cases/{case.id}/emergency", data=form)
    assert done.status_code == 303 and "emergency_recorded" in done.headers["location"]
    wrong = sato.post(f"/console/cases/{case.id}/emergency", data={**form, "action": "x"})
    assert "emergency_action" in wrong.headers["location"]
    page = sato.get(done.headers["location"]).text
    record = page[page.index('id="emergency-record"'):]
    assert "119番に通報した（佐藤）：救急車が向かった" in record and "記録：佐藤" in record
    with live.session() as s:
        assert [e.detail.split(" ")[0] for e in audit_of(s, case.id, "emergency_action")] == [
            "called_119"]


# ---------------------------------------------------------------------- across processes


NEVER = 300.0  # the fallback re-check: far beyond the test, so only a signal can explain it


@pytest.fixture
def apps(fresh_database_url: str) -> Iterator[list[LiveApp]]:
    count = 1 if fresh_database_url.startswith("sqlite") else 2  # SQLite runs one process
    started = [LiveApp(fresh_database_url, background=False, live_fallback_seconds=NEVER).start()
               for _ in range(count)]
    add_staff(started[0], [Staff("sato", "佐藤", team_id="pref"),
                           Staff("suzuki", "鈴木", team_id="pref")])
    yield started
    for app in started:
        app.stop()


def test_the_alert_stream_hears_of_an_acknowledgement_from_any_process(
        apps: list[LiveApp]) -> None:
    watcher, writer = apps[0], apps[-1]  # on PostgreSQL: two apps with their own engines
    with writer.session() as s, s.begin():
        case = imminent_case(s)
        alert_id = emergency.raise_alert(session=s, case=case, rules=EmergencyRules(),
                                         now=utcnow()).id
    cookies = logged_in(watcher, "sato").cookies
    colleague = logged_in(writer, "suzuki")

    async def watch() -> list[str]:
        heard: list[str] = []
        async with httpx.AsyncClient(base_url=watcher.url, cookies=cookies,
                                     trust_env=False) as client, \
                client.stream("GET", "/console/alerts/stream", timeout=None) as stream:
            lines = stream.aiter_lines()

            async def next_event() -> tuple[str, str]:
                kind = ""
                while True:
                    line = await asyncio.wait_for(anext(lines), 10)
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        return kind, line

            # The stream says when it has read its first state: the page fetches then.
            assert (await next_event())[0] == "ready"
            token = csrf_of(colleague, "/console/")
            answer = await asyncio.to_thread(
                colleague.post, f"/console/alerts/{alert_id}/ack", data={"csrf": token})
            assert answer.status_code == 303
            kind, data = await next_event()
            assert kind == "changed"
            heard.append(data)
        return heard

    [event] = asyncio.run(watch())
    assert f"[[{alert_id}, 1, false]]" in event
    wait_for(lambda: "1 / 2" in section_of(banner(logged_in(watcher, "sato")), case.id))
