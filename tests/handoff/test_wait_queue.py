"""The queue as the wait estimate reads it, on a real database with an explicit clock: places,
who counts as answering, the updates job's conditions and its exactly-once write."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, OutboxMessage
from bot.releases.load import Content, load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import waiting
from handoff.estimate import Told
from handoff.models import Case, ConsoleSession, Counsellor, Priority, Role
from handoff.presence import Presence, available_count

CONTENT: Content = load_content(DEFAULT_CONTENT_DIR)
PLACES = CONTENT.places
TUESDAY = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 11:00 in Tokyo: every desk is open


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def waiting_case(s: Session, n: int, *, minutes_ago: float, priority: Priority = Priority.NORMAL,
                 team: str = "midori", **fields: Any) -> Case:
    conv = Conversation(line_user_id=f"U{n:032d}", flow_id="intake", flow_version="v",
                        state="handoff", answers={}, risk_level="none",
                        consent={"counsellor": {"granted": True}})
    s.add(conv)
    s.flush()
    case = Case(conversation_id=conv.id, team_id=team, priority=priority,
                opened_at=TUESDAY - timedelta(minutes=minutes_ago), **fields)
    s.add(case)
    s.flush()
    return case


def counsellor(s: Session, name: str, *, presence: Presence, seen_minutes_ago: float | None,
               role: Role = Role.COUNSELLOR, team: str = "midori") -> Counsellor:
    c = Counsellor(username=name, display_name=name, role=role, team_id=team,
                   password_hash="x", presence=presence)
    s.add(c)
    s.flush()
    if seen_minutes_ago is not None:
        s.add(ConsoleSession(token_hash=f"{name:0<64}"[:64], counsellor_id=c.id,
                             last_seen_at=TUESDAY - timedelta(minutes=seen_minutes_ago)))
        s.flush()
    return c


def test_place_counts_who_came_before_and_ahead_counts_who_is_taken_first(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        early = waiting_case(s, 1, minutes_ago=30)
        waiting_case(s, 2, minutes_ago=20)
        me = waiting_case(s, 3, minutes_ago=10)
        waiting_case(s, 4, minutes_ago=5, priority=Priority.IMMINENT)  # came later, goes first
        waiting_case(s, 5, minutes_ago=40, team="kawabe")  # another desk's queue
        view = waiting.queue_view(s, me, PLACES, TUESDAY)
        assert (view.place, view.ahead) == (3, 3)
        # Told "third" once, the resident is never told a higher place afterwards.
        me.wait_told = Told(TUESDAY, 2, 10, 35).to_json()
        assert waiting.queue_view(s, me, PLACES, TUESDAY).place == 2
        assert waiting.queue_view(s, early, PLACES, TUESDAY).place == 1


def test_who_answers_is_read_as_the_presence_core_counts_it(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        me = waiting_case(s, 1, minutes_ago=5)
        counsellor(s, "here", presence=Presence.AVAILABLE, seen_minutes_ago=3)
        counsellor(s, "boss", presence=Presence.AVAILABLE, seen_minutes_ago=1,
                   role=Role.SUPERVISOR)
        counsellor(s, "gone_quiet", presence=Presence.AVAILABLE, seen_minutes_ago=40)
        counsellor(s, "away", presence=Presence.AWAY, seen_minutes_ago=1)
        counsellor(s, "lead", presence=Presence.AVAILABLE, seen_minutes_ago=1, role=Role.LEAD)
        counsellor(s, "other_desk", presence=Presence.AVAILABLE, seen_minutes_ago=1,
                   team="kawabe")
        counsellor(s, "never_logged_in", presence=Presence.AVAILABLE, seen_minutes_ago=None)
        away_after = timedelta(minutes=PLACES.desk.waiting.away_after_minutes)
        expected = available_count(session=s, team_id="midori", now=TUESDAY,
                                   away_after=away_after)
        assert expected == 2
        assert waiting.queue_view(s, me, PLACES, TUESDAY).available == expected


def test_pick_ups_within_the_pace_window_set_the_pace(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        for n, minutes in enumerate([10, 50, 100, 130]):
            waiting_case(s, n, minutes_ago=minutes + 5, status="claimed",
                         claimed_at=TUESDAY - timedelta(minutes=minutes))
        me = waiting_case(s, 9, minutes_ago=1)
        assert waiting.queue_view(s, me, PLACES, TUESDAY).pickups == 3  # the last two hours


def told_at(case: Case, minutes_ago: float, place: int, low: int | None = 10,
            high: int | None = 35) -> None:
    case.wait_told = Told(TUESDAY - timedelta(minutes=minutes_ago), place, low, high).to_json()


def pushes(s: Session) -> list[str]:
    return list(s.scalars(select(OutboxMessage.line_user_id).order_by(OutboxMessage.id)))


def send(s: Session, now: datetime = TUESDAY) -> int:
    return waiting.send_due_updates(session=s, places=PLACES, messages=CONTENT.messages,
                                    resources=CONTENT.resources, now=now)


def test_the_job_tells_only_those_whose_wait_changed_and_may_hear_it(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        counsellor(s, "here", presence=Presence.AVAILABLE, seen_minutes_ago=1)
        moved = waiting_case(s, 1, minutes_ago=50)
        told_at(moved, 40, place=3)  # told third; now first
        recent = waiting_case(s, 2, minutes_ago=49)
        told_at(recent, 5, place=3)  # told five minutes ago: not yet
        shared_phone = waiting_case(s, 3, minutes_ago=48, no_followups=True)
        told_at(shared_phone, 40, place=4)
        gave_up = waiting_case(s, 4, minutes_ago=47, gave_up_at=TUESDAY - timedelta(minutes=2))
        told_at(gave_up, 40, place=5)
        never_told = waiting_case(s, 5, minutes_ago=46)  # still in the intake
        assert never_told.wait_told is None
        assert send(s) == 1
        assert pushes(s) == [f"U{1:032d}"]
        row = s.scalars(select(OutboxMessage)).one()
        assert row.messages[0]["text"].startswith(
            "順番のお知らせです。\n次に、あなたのご相談をお読みします。")
        s.refresh(moved)
        assert moved.wait_told is not None and moved.wait_told["place"] == 1
        assert send(s) == 0  # told just now


def test_nothing_is_pushed_out_of_hours(sessions: sessionmaker[Session]) -> None:
    saturday_night = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # 22:00 in Tokyo
    with sessions() as s, s.begin():
        case = waiting_case(s, 1, minutes_ago=30)
        case.wait_told = Told(saturday_night - timedelta(hours=3), 4, None, None).to_json()
        assert send(s, saturday_night) == 0


def test_two_workers_never_push_the_same_update(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        counsellor(s, "here", presence=Presence.AVAILABLE, seen_minutes_ago=1)
        for n in range(5):
            told_at(waiting_case(s, n, minutes_ago=50 - n), 40, place=n + 4)
    first_done, release = threading.Event(), threading.Event()
    sent: dict[str, int] = {}

    def first() -> None:
        with sessions() as s, s.begin():
            sent["first"] = send(s)
            first_done.set()
            release.wait(10)  # still holding its writes while the second worker runs

    def second() -> None:
        with sessions() as s, s.begin():
            sent["second"] = send(s)

    a = threading.Thread(target=first)
    a.start()
    assert first_done.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)  # on SQLite it waits for the first's writes; on PostgreSQL it skips them
    release.set()
    a.join(10)
    b.join(10)
    assert sent["first"] == 5 and sent["second"] == 0
    with sessions() as s:
        assert len(pushes(s)) == 5 == int(s.scalar(select(func.count(
            func.distinct(OutboxMessage.line_user_id)))) or 0)


def test_the_error_of_the_first_figure_is_measured_against_the_real_wait() -> None:
    case = Case(wait_first=Told(TUESDAY, 3, 30, 95).to_json(),
                claimed_at=TUESDAY + timedelta(minutes=50))
    error = waiting.wait_error(case)
    assert error is not None and error.inside and error.real == 50
    assert error.error == pytest.approx(12.5)  # the told midpoint was 62.5
    assert waiting.wait_error(Case(wait_first=None, claimed_at=TUESDAY)) is None
    assert waiting.wait_error(Case(wait_first=Told(TUESDAY, 1, 0, 15).to_json())) is None
