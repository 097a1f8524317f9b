"""bot/journey/conversation.py without a server: what each intent a flow step returns does to
the database, in the caller's transaction, and how messages become outbox rows. On the
module's shared database: every test has a conversation of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from line_emulator import events as line_events
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.db.models import Conversation, InboxEvent, OutboxMessage, utcnow
from bot.edge import outbox
from bot.flows import intents as it
from bot.journey.conversation import FlowLibrary, apply_intents
from bot.line import text
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import followups
from handoff.models import (
    Case,
    CaseMessage,
    CaseStatus,
    FollowUp,
    FollowUpState,
    Outcome,
    Priority,
)

CONTENT = load_content(DEFAULT_CONTENT_DIR)
RETENTION = timedelta(days=CONTENT.places.retention_days)
NOW = utcnow()


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return FlowLibrary(CONTENT)


def new_conversation(s: Session, **fields: object) -> Conversation:
    conv = Conversation(**{"line_user_id": line_events.new_user_id(), "flow_id": "intake",
                           "flow_version": CONTENT.flows["intake"].version, "state": "trouble",
                           "answers": {}, "consent": {}, **fields})
    s.add(conv)
    s.flush()
    return conv


def consented(s: Session) -> Conversation:
    return new_conversation(s, consent={"counsellor": {"granted": True, "at": NOW.isoformat()}})


def cases_of(s: Session, conv: Conversation) -> list[Case]:
    return list(s.scalars(select(Case).where(Case.conversation_id == conv.id).order_by(Case.id)))


def test_send_returns_the_messages_in_order_and_writes_nothing(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = new_conversation(s)
        out = apply_intents(s, conv, [it.Send([text("1"), text("2")]), it.Send([text("3")])],
                            library, NOW)
        assert out == [text("1"), text("2"), text("3")]
        assert cases_of(s, conv) == []
        assert s.scalars(select(OutboxMessage).where(
            OutboxMessage.line_user_id == conv.line_user_id)).all() == []


def test_queued_messages_go_five_to_a_row_in_order_each_with_its_own_retry_key(
        sessions: sessionmaker[Session]) -> None:
    user = line_events.new_user_id()
    messages = [text(str(n)) for n in range(12)]
    with transaction(sessions) as s:
        payload = line_events.text_event(user, "こんにちは", reply_token="tok")
        event = InboxEvent(webhook_event_id=payload["webhookEventId"], source_key=f"user:{user}",
                           line_user_id=user, event_type="message",
                           event_timestamp=payload["timestamp"], payload=payload,
                           received_at=NOW)
        s.add(event)
        s.flush()
        rows = outbox.enqueue(s, user_id=user, messages=messages, event=event,
                              reply_ttl_seconds=50)
    with sessions() as s:
        stored = list(s.scalars(select(OutboxMessage).where(OutboxMessage.line_user_id == user)
                                .order_by(OutboxMessage.id)))
    assert [r.id for r in stored] == [r.id for r in rows]
    assert [r.messages for r in stored] == [messages[0:5], messages[5:10], messages[10:]]
    assert len({r.retry_key for r in stored}) == 3
    # Only the first row may use the event's reply token (a token answers one request).
    assert [r.reply_token for r in stored] == ["tok", None, None]
    assert stored[0].reply_deadline is not None
    assert stored[0].reply_deadline <= NOW + timedelta(seconds=50)
    assert {r.source_event_id for r in stored} == {event.id}


def test_open_case_opens_one_case_and_brings_it_forward_after(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = consented(s)
        apply_intents(s, conv, [it.OpenCase()], library, NOW)
        [case] = cases_of(s, conv)
        assert case.status == CaseStatus.OPEN and case.priority == Priority.NORMAL
        conv.answers = {"urgent_needs": ["shelter"]}  # answered since: no bed tonight
        apply_intents(s, conv, [it.OpenCase()], library, NOW)
        assert cases_of(s, conv) == [case]  # the same case, brought forward
        assert case.priority == Priority.HIGH


def test_set_consent_records_the_scope_and_stops_the_deletion_clock(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = new_conversation(s, consent_withdrawn_at=NOW - timedelta(days=1),
                                delete_after=NOW + RETENTION)
        apply_intents(s, conv, [it.SetConsent("counsellor", True),
                                it.SetConsent("share", False)], library, NOW)
        assert conv.consent == {"counsellor": {"granted": True, "at": NOW.isoformat()},
                                "share": {"granted": False, "at": NOW.isoformat()}}
        assert conv.consent_withdrawn_at is None and conv.delete_after is None


def test_declining_consent_leaves_the_deletion_clock_running(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = new_conversation(s, delete_after=NOW + RETENTION)
        apply_intents(s, conv, [it.SetConsent("counsellor", False)], library, NOW)
        assert conv.consent["counsellor"]["granted"] is False
        assert conv.delete_after == NOW + RETENTION


def test_withdrawing_consent_closes_the_case_cancels_follow_ups_and_sets_the_end(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = consented(s)
        apply_intents(s, conv, [it.OpenCase()], library, NOW)
        followups.schedule(session=s, conversation_id=conv.id, kind="manual", text="x",
                           due_at=NOW + timedelta(days=1))
        apply_intents(s, conv, [it.WithdrawConsent()], library, NOW)
        assert conv.consent == {scope: {"granted": False, "at": NOW.isoformat()}
                                for scope in ("counsellor", "share")}
        assert conv.consent_withdrawn_at == NOW and conv.delete_after == NOW + RETENTION
        [case] = cases_of(s, conv)
        assert case.status == CaseStatus.CLOSED and case.outcome == Outcome.WITHDRAWN
        [follow_up] = s.scalars(select(FollowUp).where(FollowUp.conversation_id == conv.id))
        assert (follow_up.state, follow_up.reason) == (FollowUpState.CANCELLED,
                                                       "consent_withdrawn")


def test_forward_to_case_puts_the_words_on_the_open_case(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = consented(s)
        apply_intents(s, conv, [it.ForwardToCase("家賃のことです")], library, NOW)  # opens one
        apply_intents(s, conv, [it.ForwardToCase("今月分です")], library, NOW)
        [case] = cases_of(s, conv)
        words = s.scalars(select(CaseMessage.text).where(CaseMessage.case_id == case.id)
                          .order_by(CaseMessage.id)).all()
        assert words == ["家賃のことです", "今月分です"]


def test_switch_to_current_version_moves_the_conversation(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = new_conversation(s, flow_version="an-old-version")
        apply_intents(s, conv, [it.SwitchToCurrentVersion()], library, NOW)
        assert conv.flow_version == CONTENT.flows["intake"].version


def test_the_intents_commit_or_roll_back_with_the_caller_s_transaction(
        sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as s:
        conv = new_conversation(s)
        user = conv.line_user_id
    with pytest.raises(RuntimeError), transaction(sessions) as s:
        conv = s.scalars(select(Conversation).where(Conversation.line_user_id == user)).one()
        apply_intents(s, conv, [it.SetConsent("counsellor", True), it.OpenCase(),
                                it.ForwardToCase("x")], library, NOW)
        raise RuntimeError("the event failed after its intents were applied")
    with sessions() as s:
        conv = s.scalars(select(Conversation).where(Conversation.line_user_id == user)).one()
        assert conv.consent == {} and cases_of(s, conv) == []
