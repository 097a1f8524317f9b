"""Presence: 対応可能 / 離席 / 終了 set and audited, 離席 on its own when no console is seen,
per team, by role; and over HTTP, the header's control, the status check and logout."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from handoff.models import AuditEntry, ConsoleSession, Counsellor, Role
from handoff.presence import (
    Presence,
    available_count,
    off_at_logout,
    presence_of,
    roster,
    set_presence,
)
from tests.live import LiveApp, Staff, csrf_of, logged_in

NOW = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
AWAY_AFTER = timedelta(minutes=15)


def account(s: Session, team: str, *, role: Role = Role.COUNSELLOR, name: str = "相談員",
            presence: Presence = Presence.OFF, active: bool = True) -> Counsellor:
    person = Counsellor(username=f"u{uuid.uuid4().hex[:12]}", display_name=name, role=role,
                        team_id=team, password_hash="-", presence=presence, active=active)
    s.add(person)
    s.flush()
    return person


def seen(s: Session, person: Counsellor, at: datetime, *, revoked: bool = False) -> None:
    s.add(ConsoleSession(token_hash=uuid.uuid4().hex * 2, counsellor_id=person.id,
                         created_at=at - timedelta(hours=1), last_seen_at=at,
                         revoked_at=at if revoked else None))
    s.flush()


def team() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def audits(s: Session, person: Counsellor) -> list[tuple[str, str | None]]:
    return [(e.action, e.detail) for e in s.scalars(select(AuditEntry).where(
        AuditEntry.account_id == person.id).order_by(AuditEntry.id))]


def test_setting_presence_is_audited_once_per_change(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        sato = account(s, team())
        set_presence(session=s, counsellor=sato, presence=Presence.AVAILABLE, now=NOW)
        set_presence(session=s, counsellor=sato, presence=Presence.AVAILABLE, now=NOW)
        set_presence(session=s, counsellor=sato, presence=Presence.AWAY,
                     now=NOW + timedelta(minutes=1))
        assert (sato.presence, sato.presence_at) == (Presence.AWAY, NOW + timedelta(minutes=1))
        assert audits(s, sato) == [("presence", "available"), ("presence", "away")]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.account_id == sato.id)).first()
        assert entry is not None and entry.counsellor_id == sato.id and entry.case_id is None


def test_available_turns_away_when_no_console_is_seen(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        desk = team()
        here = account(s, desk, name="いる", presence=Presence.AVAILABLE)
        seen(s, here, NOW - timedelta(minutes=14))
        gone = account(s, desk, name="席を外した", presence=Presence.AVAILABLE)
        seen(s, gone, NOW - timedelta(minutes=16))
        seen(s, gone, NOW - timedelta(minutes=1), revoked=True)  # a console logged out
        account(s, desk, name="未ログイン", presence=Presence.AVAILABLE)
        away = account(s, desk, name="離席中", presence=Presence.AWAY)
        seen(s, away, NOW)
        off = account(s, desk, name="終了", presence=Presence.OFF)
        seen(s, off, NOW)
        account(s, desk, name="無効", presence=Presence.AVAILABLE, active=False)
        counted = {p.display_name: p.presence for p in roster(
            session=s, now=NOW, away_after=AWAY_AFTER, team_id=desk)}
        assert counted == {"いる": Presence.AVAILABLE, "席を外した": Presence.AWAY,
                           "未ログイン": Presence.AWAY, "離席中": Presence.AWAY}
        assert presence_of(session=s, counsellor=here, now=NOW,
                           away_after=AWAY_AFTER) == Presence.AVAILABLE
        assert presence_of(session=s, counsellor=gone, now=NOW,
                           away_after=AWAY_AFTER) == Presence.AWAY
        # Coming back to the console counts again, without choosing 対応可能 anew.
        seen(s, gone, NOW)
        assert presence_of(session=s, counsellor=gone, now=NOW,
                           away_after=AWAY_AFTER) == Presence.AVAILABLE


def test_each_team_counts_its_own_answering_people(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        mine, theirs = team(), team()
        for role in (Role.COUNSELLOR, Role.SUPERVISOR, Role.LEAD):
            person = account(s, mine, role=role, presence=Presence.AVAILABLE)
            seen(s, person, NOW)
        other = account(s, theirs, presence=Presence.AVAILABLE)
        seen(s, other, NOW)
        # A lead may answer and is listed, but the desk does not count on them.
        assert len(roster(session=s, now=NOW, away_after=AWAY_AFTER, team_id=mine)) == 3
        assert available_count(session=s, team_id=mine, now=NOW, away_after=AWAY_AFTER) == 2
        assert available_count(session=s, team_id=theirs, now=NOW, away_after=AWAY_AFTER) == 1
        everyone = {p.counsellor_id for p in roster(session=s, now=NOW,
                                                     away_after=AWAY_AFTER)}
        assert other.id in everyone


def test_logging_out_of_the_last_console_ends_the_shift(
        sessions: sessionmaker[Session]) -> None:
    idle = timedelta(minutes=60)
    with sessions() as s, s.begin():
        two = account(s, team(), presence=Presence.AVAILABLE)
        seen(s, two, NOW - timedelta(minutes=5))  # another console, still in use
        off_at_logout(session=s, counsellor=two, now=NOW, idle=idle)
        assert two.presence == Presence.AVAILABLE and audits(s, two) == []

        one = account(s, team(), presence=Presence.AWAY)
        seen(s, one, NOW - timedelta(minutes=61))  # idle: no longer in use
        seen(s, one, NOW - timedelta(minutes=1), revoked=True)  # the one just logged out
        off_at_logout(session=s, counsellor=one, now=NOW, idle=idle)
        assert one.presence == Presence.OFF and audits(s, one) == [("presence", "off")]


# ---------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("boss", "主任", Role.SUPERVISOR, "pref"),
            Staff("lead", "統括", Role.LEAD)]


def pressed(html: str) -> list[str]:
    return re.findall(r'value="(\w+)" class="presence-\w+ chosen" aria-pressed="true">'
                      r'([^<]+)<', html)


def test_the_header_sets_presence_with_the_sessions_token(live: LiveApp) -> None:
    sato = logged_in(live, "sato")
    page = sato.get("/console/").text
    assert pressed(page) == [("off", "終了")]
    # Signed in but still 終了: the queue says so, and why it matters to residents.
    assert 'id="presence-off"' in page and "対応可能" in page
    token = csrf_of(sato, "/console/")
    assert sato.post("/console/desk/presence",
                     data={"presence": "available", "back": "/console/"}).status_code == 403
    done = sato.post("/console/desk/presence", data={
        "presence": "available", "back": "/console/outcomes?x=1", "csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/console/outcomes?x=1"
    on_duty = sato.get("/console/").text
    assert pressed(on_duty) == [("available", "対応可能")] and 'id="presence-off"' not in on_duty
    # Back to this site's console only.
    elsewhere = sato.post("/console/desk/presence", data={
        "presence": "away", "back": "//example.com/console/", "csrf": token})
    assert elsewhere.headers["location"] == "/console/"
    assert sato.post("/console/desk/presence", data={
        "presence": "busy", "csrf": token}).status_code == 422
    status = sato.get("/console/desk/status").json()
    assert status["presence"] == {"shown": "away", "auto": False, "label": "離席"}
    assert status["alert"] is None  # a counsellor is not the one alerted
    with live.session() as s:
        me = s.scalars(select(Counsellor).where(Counsellor.username == "sato")).one()
        assert audits(s, me)[-2:] == [("presence", "available"), ("presence", "away")]

    # Logout ends the shift: nobody counts on a counsellor who left.
    sato.post("/console/logout", data={"csrf": token})
    with live.session() as s:
        me = s.scalars(select(Counsellor).where(Counsellor.username == "sato")).one()
        assert me.presence == Presence.OFF


def test_roles_see_the_control_and_the_alert_they_need(live: LiveApp) -> None:
    boss = logged_in(live, "boss").get("/console/desk/status").json()
    assert boss["presence"]["shown"] in ("off", "available", "away")
    assert boss["alert"]["count"] >= 0
    lead = logged_in(live, "lead")
    seen = lead.get("/console/").text
    assert pressed(seen) == [] and 'id="presence-off"' not in seen  # not counted on
    status = lead.get("/console/desk/status").json()
    assert status["presence"] is None and status["alert"] is not None


def test_a_queue_filtered_to_no_known_team_still_shows(live: LiveApp) -> None:
    lead = logged_in(live, "lead")
    assert lead.get("/console/", params={"team": "atlantis"}).status_code == 200
    page = lead.get("/console/").text
    assert page.count('class="desk-team card') == 3  # every desk, for a lead
    assert 'id="desk-pref"' in logged_in(live, "boss").get("/console/").text
    assert logged_in(live, "boss").get("/console/").text.count('class="desk-team card') == 1
