"""After consent is withdrawn and the retention period passes, the resident's words and LINE id
are gone from every table; the case's categories stay for the statistics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.engine import transaction
from bot.db.models import Base, Conversation, InboxEvent, InboxStatus, utcnow
from handoff import retention
from handoff.models import Case
from tests.live import (
    LiveApp,
    Resident,
    conversation_of,
    resident_with_case,
    texts,
    wait_for,
)

WORDS = "夫の借金がつらくて、みどり町の田中花子です"
LATER = "もう一つ、家賃のことも心配です"
CONTENT_TABLES = {"flow_versions", "content_releases", "content_drafts"}


# Every test has a server and database of its own (fresh_live): the sweeps erase whatever is
# due in the whole database, and everything() reads every row of it.


def everything(live: LiveApp) -> str:
    """Every row of every table but the content's own, as text: what a breach could reveal."""
    dump = []
    with live.session() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in CONTENT_TABLES:
                continue
            dump += [repr(tuple(row)) for row in s.execute(select(table))]
    return "\n".join(dump)


def test_withdrawn_data_is_erased_after_the_retention_period(fresh_live: LiveApp) -> None:
    live = fresh_live
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.tap("はじめる")
    r.say(WORDS)
    r.say("人と話したい")
    r.tap("同意する")
    r.say(LATER)
    with live.session() as s:
        case = s.scalars(select(Case)).one()
        pseudonym = case.pseudonym
    assert WORDS in everything(live) and r.user_id in everything(live)

    assert "取り消" in texts(r.say("同意を取り消す"))
    conversation = conversation_of(live, r)
    assert conversation.delete_after is not None
    due = conversation.delete_after

    with transaction(live.runtime.sessions) as s:  # one second early: nothing goes
        assert retention.erase_due(session=s, now=due - timedelta(seconds=1)) == 0
    assert WORDS in everything(live)

    with transaction(live.runtime.sessions) as s:
        assert retention.erase_due(session=s, now=due + timedelta(seconds=1)) == 1
    with transaction(live.runtime.sessions) as s:
        assert retention.erase_due(session=s, now=due + timedelta(days=1)) == 0  # done once

    left = everything(live)
    for gone in (WORDS, LATER, "田中花子", "家賃のことも", r.user_id):
        assert gone not in left, [line[:300] for line in left.split("\n") if gone in line]
    with live.session() as s:
        case = s.scalars(select(Case)).one()  # counted still, without anything they wrote
        assert case.pseudonym == pseudonym and case.answers.get("trouble") is None
        erased = s.get(Conversation, conversation.id)
        assert erased is not None and erased.erased_at is not None

    # The same person writing again is simply a new conversation.
    seen = len(r.bot_messages())
    r.send(r.follow())
    wait_for(lambda: "はじめてもよいですか" in texts(r.bot_messages()[seen:]))
    with live.session() as s:
        again = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        assert again.id != conversation.id and again.answers == {}


def test_a_conversation_that_never_reached_consent_has_an_end_too(fresh_live: LiveApp) -> None:
    live = fresh_live
    """Declined, or left mid-intake: erased a retention period after the last message."""
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.tap("はじめる")
    r.say(WORDS)
    conversation = conversation_of(live, r)
    assert conversation.delete_after is not None and conversation.last_event_at is not None
    days = live.runtime.content.places.retention_days
    assert conversation.delete_after - conversation.last_event_at == timedelta(days=days)
    with transaction(live.runtime.sessions) as s:
        assert retention.erase_due(session=s, now=conversation.delete_after
                                   - timedelta(seconds=1)) == 0
        assert retention.erase_due(session=s, now=conversation.delete_after
                                   + timedelta(seconds=1)) == 1
    assert WORDS not in everything(live) and r.user_id not in everything(live)


def test_consent_stops_the_clock_and_an_ongoing_case_defers_it(fresh_live: LiveApp) -> None:
    live = fresh_live
    r, _ = resident_with_case(live)
    assert conversation_of(live, r).delete_after is None  # consented: kept for the desk
    # A case people still work on is not erased under them; the job looks again later.
    with live.session() as s, s.begin():
        row = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        row.delete_after = due = row.last_event_at
    with transaction(live.runtime.sessions) as s:
        assert retention.erase_due(session=s, now=due + timedelta(seconds=1)) == 0
    after = conversation_of(live, r)
    assert after.erased_at is None and after.delete_after > due + timedelta(hours=1)


def test_a_replayed_body_does_not_bring_an_erased_person_back(fresh_live: LiveApp) -> None:
    live = fresh_live
    r = Resident(live)
    first = r.follow()
    r.send(first)
    r.wait_messages(4)
    words = r.text(WORDS)
    r.say_event(words)
    due = conversation_of(live, r).delete_after
    assert due is not None
    with transaction(live.runtime.sessions) as s:
        assert retention.erase_due(session=s, now=due + timedelta(seconds=1)) == 1
    assert WORDS not in everything(live)

    # The same signed bodies again (LINE's redelivery, or someone who kept them): duplicates.
    assert live.post([first, words]).status_code == 200
    # A new id on an old event: older than LINE would send it, so never processed.
    old = {**words, "webhookEventId": "01OLD" + r.user_id[:20],
           "timestamp": int((utcnow() - timedelta(days=4)).timestamp() * 1000)}
    assert live.post([old]).status_code == 200
    wait_for(lambda: live.count(InboxEvent, InboxEvent.status == InboxStatus.PENDING) == 0)
    with live.session() as s:
        assert s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).first() is None
        assert s.scalars(select(InboxEvent.status).where(
            InboxEvent.webhook_event_id == old["webhookEventId"])).one() == InboxStatus.IGNORED
    assert WORDS not in everything(live)
