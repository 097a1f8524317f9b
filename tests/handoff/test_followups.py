"""Follow-ups with a controllable clock: quiet hours, cancellation, catch-up, exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, OutboxMessage
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import followups
from handoff.followups import FollowUpRules, QuietHours, dispatch_due, outside_quiet_hours
from handoff.models import Case, FollowUp, FollowUpState
from tests.conftest import POSTGRES_URL

TOKYO = ZoneInfo("Asia/Tokyo")
RULES: FollowUpRules = load_content(DEFAULT_CONTENT_DIR).followups
NIGHT = QuietHours(start=time(21, 0), end=time(8, 0))


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


@pytest.mark.parametrize(("due", "expected"), [
    (tokyo(24, 12), tokyo(24, 12)),  # daytime: as scheduled
    (tokyo(24, 22), tokyo(25, 8)),  # late evening: next morning
    (tokyo(25, 3), tokyo(25, 8)),  # small hours: this morning
    (tokyo(24, 21), tokyo(25, 8)),  # quiet hours start at 21:00 sharp
    (tokyo(25, 8), tokyo(25, 8)),  # and end at 08:00 sharp
    (tokyo(25, 7, 59), tokyo(25, 8)),
])
def test_quiet_hours_push_a_follow_up_to_the_morning(due: datetime, expected: datetime) -> None:
    assert outside_quiet_hours(due, NIGHT, TOKYO) == expected


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def resident(s: Session, n: int = 0, **fields: object) -> Conversation:
    conv = Conversation(line_user_id=f"U{n:032d}", flow_id="intake", flow_version="v",
                        state="who", answers={}, consent={}, **fields)
    s.add(conv)
    s.flush()
    return conv


def pushes(s: Session) -> int:
    return int(s.scalar(select(func.count(OutboxMessage.id))) or 0)


def test_a_follow_up_due_while_down_is_sent_once_on_the_next_pass(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        conv = resident(s)
        followups.schedule(session=s, conversation_id=conv.id, kind="manual", text="お元気ですか",
                           due_at=tokyo(20, 10))  # days ago: the service was down
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(24, 10)) == 1
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(24, 11)) == 0
        [row] = s.scalars(select(FollowUp)).all()
        assert row.state == FollowUpState.SENT and pushes(s) == 1
        [out] = s.scalars(select(OutboxMessage)).all()
        assert out.messages == [{"type": "text", "text": "お元気ですか"}]
        assert out.reply_token is None  # a follow-up is always a push


def test_nothing_is_sent_at_night_it_waits_for_the_morning(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        conv = resident(s)
        followups.schedule_rule(session=s, rules=RULES, conversation_id=conv.id,
                                kind="not_picked_up", now=tokyo(24, 19))  # due 23:00
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(24, 23, 30)) == 0
        [row] = s.scalars(select(FollowUp)).all()
        assert row.state == FollowUpState.SCHEDULED and row.due_at == tokyo(25, 8)
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(25, 7)) == 0
        assert dispatch_due(session=s, rules=RULES, now=tokyo(25, 8)) == 1


@pytest.mark.parametrize(("fields", "reason"), [
    ({"following": False}, "blocked"),
    ({"consent_withdrawn_at": datetime(2026, 11, 1, tzinfo=UTC)}, "consent_withdrawn"),
])
def test_blocked_or_withdrawn_residents_get_nothing_and_the_reason_is_kept(
    sessions: sessionmaker[Session], fields: dict[str, object], reason: str,
) -> None:
    with sessions() as s, s.begin():
        conv = resident(s, **fields)
        followups.schedule(session=s, conversation_id=conv.id, kind="manual", text="x",
                           due_at=tokyo(24, 10))
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(24, 12)) == 0
        [row] = s.scalars(select(FollowUp)).all()
        assert row.state == FollowUpState.CANCELLED and row.reason == reason
        assert pushes(s) == 0


def test_a_case_that_forbids_follow_ups_cancels_them_with_the_reason(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        conv = resident(s)
        other = resident(s, 1)
        case = Case(conversation_id=conv.id, team_id="t", no_followups=True)
        s.add(case)
        for who in (conv, other):
            followups.schedule(session=s, conversation_id=who.id, kind="manual", text="x",
                               due_at=tokyo(24, 10))
    with sessions() as s, s.begin():
        assert dispatch_due(session=s, rules=RULES, now=tokyo(24, 12)) == 1  # only the other
        states = {c: r for c, r in s.execute(select(FollowUp.conversation_id, FollowUp.reason))}
        assert states == {conv.id: "case_forbids", other.id: None}


def test_a_rule_reminds_once_counted_from_the_latest_event(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        conv = resident(s)
        for hour in (10, 11, 12):  # three messages: one reminder, 24 h after the last
            followups.schedule_rule(session=s, rules=RULES, conversation_id=conv.id,
                                    kind="intake_stalled", now=tokyo(24, hour))
        rows = s.scalars(select(FollowUp).order_by(FollowUp.id)).all()
        # Moved, not replaced: one row however many messages came.
        assert [r.state for r in rows] == ["scheduled"]
        assert rows[-1].due_at == tokyo(25, 12)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="TSUNAGU_TEST_POSTGRES_URL is not set")
def test_two_dispatchers_on_postgresql_send_each_of_1000_exactly_once(
        fresh_database_url: str) -> None:
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one process; SKIP LOCKED is PostgreSQL's")
    engines = [make_engine(fresh_database_url) for _ in range(2)]
    factories = [make_session_factory(e) for e in engines]
    with factories[0]() as s, s.begin():
        ids = [resident(s, n).id for n in range(50)]
        for n in range(1000):
            s.add(FollowUp(conversation_id=ids[n % 50], kind="manual", text=f"check {n}",
                           due_at=tokyo(24, 9)))
    sent = [0, 0]

    def run(k: int) -> None:
        while True:
            with factories[k]() as s, s.begin():
                got = dispatch_due(session=s, rules=RULES, now=tokyo(24, 12), limit=50)
            sent[k] += got
            if not got:
                return

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with factories[0]() as s:
        texts = [m.messages[0]["text"] for m in s.scalars(select(OutboxMessage))]
    for e in engines:
        e.dispose()
    assert sum(sent) == 1000 and len(texts) == 1000 and len(set(texts)) == 1000
    assert min(sent) > 0  # both processes did part of the work
