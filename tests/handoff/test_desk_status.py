"""The desk now: staffed minutes, SLA clocks that run only while the desk is open, the
oldest wait and the cases past their time per team, and who is on duty."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from line_emulator import events as line_events
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.content.schema import Hours, Places, Sla, Team
from bot.db.models import Conversation
from bot.flows.routing import TOKYO
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.desk_status import (
    breaches,
    clock,
    clocks_of,
    fingerprint,
    sla_minutes,
    staffed_minutes,
    team_is_open,
    team_status,
)
from handoff.models import Case, CaseStatus, ConsoleSession, Counsellor, Role
from handoff.presence import Presence

SLA = Sla()  # imminent 5, high 30, normal 240 minutes
WEEKDAYS = Hours(days=["mon", "tue", "wed", "thu", "fri"], open="09:00", close="17:00")
ALWAYS = Hours(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open="00:00",
               close="24:00")
BASE = load_content(DEFAULT_CONTENT_DIR).places


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    """June 2024 in Japan: the 3rd is a Monday, the 8th and 9th a weekend."""
    return datetime(2024, 6, day, hour, minute, tzinfo=TOKYO)


def a_team(hours: Hours = WEEKDAYS, name: str = "窓口") -> Team:
    return Team(id=f"t{uuid.uuid4().hex[:10]}", name=name, hours=hours, share_with=["福祉課"])


def places_with(*teams: Team) -> Places:
    return BASE.model_copy(update={"teams": list(teams)})


# ---------------------------------------------------------------------- pure


def test_the_desk_is_open_in_its_hours_only() -> None:
    desk = a_team()
    assert team_is_open(desk, tokyo(3, 9)) and team_is_open(desk, tokyo(3, 16, 59))
    assert not team_is_open(desk, tokyo(3, 8, 59)) and not team_is_open(desk, tokyo(3, 17))
    assert not team_is_open(desk, tokyo(8, 12))  # Saturday
    assert team_is_open(a_team(ALWAYS), tokyo(9, 23, 59))


def test_staffed_minutes_leave_out_nights_and_weekends() -> None:
    desk = a_team()
    assert staffed_minutes(desk, tokyo(3, 8), tokyo(3, 9, 30)) == 30  # from the opening
    assert staffed_minutes(desk, tokyo(3, 17, 30), tokyo(4, 8, 30)) == 0  # the night
    # Friday 16:30 to Monday 9:10: half an hour on Friday, ten minutes on Monday.
    assert staffed_minutes(desk, tokyo(7, 16, 30), tokyo(10, 9, 10)) == 40
    assert staffed_minutes(desk, tokyo(3, 10), tokyo(5, 10)) == 2 * 8 * 60
    assert staffed_minutes(desk, tokyo(3, 10), tokyo(3, 10)) == 0
    assert staffed_minutes(desk, tokyo(3, 11), tokyo(3, 10)) == 0
    # Any time zone is read as Japan's.
    assert staffed_minutes(desk, tokyo(3, 9).astimezone(UTC),
                           tokyo(3, 9, 5).astimezone(UTC)) == 5
    assert staffed_minutes(a_team(ALWAYS), tokyo(8, 23), tokyo(9, 1)) == 120


def test_each_priority_has_its_time() -> None:
    assert [sla_minutes(SLA, p) for p in ("imminent", "high", "normal", "other")] == [
        5, 30, 240, 240]


def test_the_clock_runs_only_while_the_desk_is_open() -> None:
    desk = a_team()

    def at(opened: datetime, now: datetime, priority: str = "imminent") -> tuple[
            float, bool, datetime | None]:
        c = clock(team=desk, sla=SLA, priority=priority, opened_at=opened, now=now)
        return c.waited, c.past, c.due_at

    assert at(tokyo(3, 10), tokyo(3, 10, 4)) == (4, False, tokyo(3, 10, 5))
    assert at(tokyo(3, 10), tokyo(3, 10, 5)) == (5, False, tokyo(3, 10, 5))  # within 5 is in
    assert at(tokyo(3, 10), tokyo(3, 10, 6)) == (6, True, None)
    # Arrived at night: the clock starts when the desk opens.
    assert at(tokyo(3, 2), tokyo(3, 9, 4)) == (4, False, tokyo(3, 9, 5))
    assert at(tokyo(3, 2), tokyo(3, 9, 6))[1] is True
    # Closed now: nothing is past, however long it waited, and nothing falls due.
    assert at(tokyo(3, 10), tokyo(3, 18)) == (420, False, None)
    assert at(tokyo(7, 16), tokyo(8, 12), "high") == (60, False, None)
    # Due after closing: no moment to flip at today (the next check recounts).
    assert at(tokyo(3, 16), tokyo(3, 16, 10), "normal") == (10, False, None)


# ---------------------------------------------------------------------- the database


def conversation(s: Session) -> Conversation:
    conv = Conversation(line_user_id=line_events.new_user_id(), flow_id="intake",
                        flow_version="v", state="handoff")
    s.add(conv)
    s.flush()
    return conv


def case(s: Session, team: Team, opened: datetime, priority: str = "normal",
         status: CaseStatus = CaseStatus.OPEN) -> Case:
    row = Case(conversation_id=conversation(s).id, team_id=team.id, priority=priority,
               status=status, opened_at=opened)
    s.add(row)
    s.flush()
    return row


def person(s: Session, team: Team, name: str, presence: Presence,
           seen: datetime | None) -> Counsellor:
    row = Counsellor(username=f"u{uuid.uuid4().hex[:12]}", display_name=name,
                     role=Role.COUNSELLOR, team_id=team.id, password_hash="-",
                     presence=presence)
    s.add(row)
    s.flush()
    if seen is not None:
        s.add(ConsoleSession(token_hash=uuid.uuid4().hex * 2, counsellor_id=row.id,
                             created_at=seen, last_seen_at=seen))
    return row


@pytest.fixture
def desks(sessions: sessionmaker[Session]) -> tuple[Places, datetime, list[Team]]:
    """Monday 11:00 in Japan. みどり and かわべ are open, よる (evenings only) is closed."""
    now = tokyo(3, 11)
    midori, kawabe = a_team(name="みどり"), a_team(name="かわべ")
    night = a_team(Hours(days=["mon"], open="18:00", close="22:00"), name="よる")
    with sessions() as s, s.begin():
        case(s, midori, now - timedelta(minutes=30))  # the oldest: normal, within its 4 hours
        case(s, midori, now - timedelta(minutes=10), "imminent")  # past its 5 minutes
        case(s, midori, now - timedelta(minutes=3), "imminent")  # due in 2 minutes
        case(s, midori, now - timedelta(hours=2), "imminent", CaseStatus.CLAIMED)  # taken
        case(s, kawabe, now - timedelta(minutes=40), "high")  # past its 30 minutes
        case(s, night, now - timedelta(days=1), "imminent")  # closed: no alert
        person(s, midori, "佐藤", Presence.AVAILABLE, now - timedelta(minutes=1))
        person(s, midori, "鈴木", Presence.AVAILABLE, now - timedelta(minutes=20))  # inactive
        person(s, midori, "高橋", Presence.OFF, now)
        person(s, kawabe, "田中", Presence.AWAY, now)
    return places_with(midori, kawabe, night), now, [midori, kawabe, night]


def test_each_team_shows_who_is_on_duty_and_the_oldest_wait(
        sessions: sessionmaker[Session], desks: tuple[Places, datetime, list[Team]]) -> None:
    places, now, (midori, kawabe, night) = desks
    with sessions() as s:
        shown = team_status(session=s, places=places, team_ids=[midori.id, kawabe.id, night.id],
                            now=now)
    m, k, n = shown
    assert [(p.display_name, p.presence) for p in m.on_duty] == [
        ("佐藤", Presence.AVAILABLE), ("鈴木", Presence.AWAY)]  # 高橋 ended the shift
    assert (m.open_now, m.available, m.waiting, m.past) == (True, 1, 3, 1)
    assert m.oldest_opened_at == now - timedelta(minutes=30)
    assert m.next_due == now + timedelta(minutes=2)
    assert [(p.priority, p.waiting, p.sla_minutes, p.past) for p in m.priorities] == [
        ("imminent", 2, 5, 1), ("high", 0, 30, 0), ("normal", 1, 240, 0)]
    assert (k.name, k.available, k.waiting, k.past) == ("かわべ", 0, 1, 1)
    assert [p.display_name for p in k.on_duty] == ["田中"]
    assert (n.open_now, n.waiting, n.past, n.next_due, n.on_duty) == (False, 1, 0, None, [])
    assert n.oldest_opened_at == now - timedelta(days=1)


def test_supervisors_are_alerted_to_waits_past_their_time_while_open(
        sessions: sessionmaker[Session], desks: tuple[Places, datetime, list[Team]]) -> None:
    places, now, (midori, kawabe, night) = desks
    with sessions() as s:
        every = breaches(session=s, places=places, team_ids=[midori.id, kawabe.id, night.id],
                         now=now)
        assert (every.count, every.teams) == (2, [("みどり", 1), ("かわべ", 1)])
        assert every.next_due == now + timedelta(minutes=2)
        # Two minutes on, the imminent case that was due has passed too.
        later = breaches(session=s, places=places, team_ids=[midori.id],
                         now=now + timedelta(minutes=2, seconds=1))
        assert (later.count, later.teams) == (2, [("みどり", 2)])
        # At the evening desk's opening its imminent case starts counting: past 5 minutes on.
        assert breaches(session=s, places=places, team_ids=[night.id],
                        now=tokyo(3, 18, 4)).count == 0
        assert breaches(session=s, places=places, team_ids=[night.id],
                        now=tokyo(3, 18, 6)).count == 1
        assert breaches(session=s, places=places, team_ids=[], now=now).count == 0


def test_queue_rows_and_the_live_fingerprint(
        sessions: sessionmaker[Session], desks: tuple[Places, datetime, list[Team]]) -> None:
    places, now, (midori, kawabe, _) = desks
    with sessions() as s:
        rows = list(s.scalars(select(Case).where(Case.team_id == midori.id,
                                                 Case.status == CaseStatus.OPEN)))
        clocks = clocks_of(places=places, cases=rows, now=now)
        assert sorted((c.minutes, c.past) for c in clocks.values()) == [
            (5, False), (5, True), (240, False)]
        before = fingerprint(session=s, places=places, team_ids=[midori.id, kawabe.id],
                             now=now)
        # Time alone changes what the page shows: 鈴木's console, 佐藤's, a case due.
        assert fingerprint(session=s, places=places, team_ids=[midori.id, kawabe.id],
                           now=now) == before
        assert fingerprint(session=s, places=places, team_ids=[midori.id, kawabe.id],
                           now=now + timedelta(minutes=15)) != before
