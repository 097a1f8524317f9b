"""Webhook → inbox → worker → outbox → LINE (the emulator, through the real SDK over HTTP)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from line_emulator import events as line_events
from sqlalchemy import select

from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus, utcnow
from bot.edge.inbox import source_key
from bot.flows.engine import global_data
from tests.flows.helpers import tel_links
from tests.live import LiveApp, Resident, wait_for

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "line-spec" / "sample-webhook.json"


def outbox_rows(live: LiveApp, user_id: str) -> list[OutboxMessage]:
    with live.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.line_user_id == user_id)
                              .order_by(OutboxMessage.id)))


def finished_rows(live: LiveApp, user_id: str, count: int) -> list[OutboxMessage]:
    """The resident's outbox rows once `count` of them are done with (sent or given up): the
    emulator shows a message a moment before the sender records it."""
    def done() -> list[OutboxMessage]:
        rows = outbox_rows(live, user_id)
        finished = [r for r in rows if r.status in (OutboxStatus.SENT, OutboxStatus.FAILED)]
        return rows if len(finished) >= count else []
    return wait_for(done)


def test_follow_and_text_are_answered_by_reply(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    greeting = r.wait_messages(1)
    assert "ありがとう" in greeting[0]["text"]
    r.send(r.text("お金のことで相談したいです"))
    wait_for(lambda: any("話してくださって" in m.get("text", "") for m in r.bot_messages()))
    calls = [c for c in live.emulator.deliveries() if c.body.get("replyToken") in
             {e.body.get("replyToken") for e in live.emulator.calls}]
    assert calls and all(c.path == "/v2/bot/message/reply" for c in calls)
    assert all(c.auth_ok for c in live.emulator.calls)
    rows = finished_rows(live, r.user_id, 2)
    assert [row.status for row in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert {row.sent_via for row in rows} == {"reply"}


def test_bad_signature_is_400_and_stores_nothing(live: LiveApp) -> None:
    r = Resident(live)
    response = live.post([r.text("こんにちは")], secret="not-our-secret")
    assert response.status_code == 400
    no_signature = live.http.post("/line/webhook", content=b'{"events": []}')
    assert no_signature.status_code == 400
    assert live.count(InboxEvent, InboxEvent.line_user_id == r.user_id) == 0


@pytest.mark.parametrize("body", [b'{"events": [ {', b"\xff\xfe not utf-8", b"[]",
                                  b'{"destination": "U"}', b'{"events": [1, 2]}',
                                  b'{"events": "nope"}'])
def test_malformed_bodies_with_a_valid_signature_are_400(live: LiveApp, body: bytes) -> None:
    before = live.count(InboxEvent)  # the module's other tests stored theirs
    assert live.post_raw(body).status_code == 400
    assert live.count(InboxEvent) == before


def test_empty_event_list_is_the_verification_request(live: LiveApp) -> None:
    # LINE's "Verify" button sends a signed body with no events.
    assert live.post([]).status_code == 200


def test_lines_sample_body_is_accepted_without_error(live: LiveApp) -> None:
    raw = SAMPLE.read_bytes()
    events = json.loads(raw)["events"]
    ids = {event["webhookEventId"] for event in events}
    assert live.post_raw(raw).status_code == 200
    # The sample reuses one webhookEventId for all 28 events: LINE's id is the dedup key.
    assert len(ids) == 1 and live.count(InboxEvent, InboxEvent.webhook_event_id.in_(ids)) == 1

    for event in events:
        event["webhookEventId"] = uuid.uuid4().hex
    ids |= {event["webhookEventId"] for event in events}
    assert live.post(events).status_code == 200
    ours = InboxEvent.webhook_event_id.in_(ids)
    wait_for(lambda: live.count(InboxEvent, ours, InboxEvent.status == InboxStatus.PENDING) == 0)
    assert live.count(InboxEvent, ours) == 29
    assert live.count(InboxEvent, ours, InboxEvent.status == InboxStatus.FAILED) == 0
    with live.session() as s:
        undefined = s.scalars(select(InboxEvent).where(
            ours, InboxEvent.event_type == "undefined")).one()
    assert undefined.status == InboxStatus.IGNORED  # unknown types are kept, not acted on


def test_redelivered_event_is_not_processed_twice(live: LiveApp) -> None:
    r = Resident(live)
    event = r.text("生活が苦しいです")
    r.send(event)
    r.wait_messages(1)
    again = dict(event, deliveryContext={"isRedelivery": True})
    r.send(again, again)
    wait_for(lambda: live.count(InboxEvent, InboxEvent.line_user_id == r.user_id) == 1)
    assert len(outbox_rows(live, r.user_id)) == 1
    before = len(r.bot_messages())
    r.send(r.text("もうひとつ"))  # a later event proves the worker went past the redelivery
    wait_for(lambda: len(r.bot_messages()) > before)
    assert len(outbox_rows(live, r.user_id)) == 2


def test_events_of_one_resident_are_answered_in_order(live: LiveApp) -> None:
    r = Resident(live)
    first = r.follow()
    second = r.postback(global_data("emergency"))
    second["timestamp"] = first["timestamp"] + 1
    r.send(second, first)  # out of order in the body: the timestamp decides
    assert {row.status for row in finished_rows(live, r.user_id, 2)} == {OutboxStatus.SENT}
    messages = r.bot_messages()
    assert "ありがとう" in messages[0]["text"]
    assert messages[4]["type"] == "flex"  # the numbers come after the whole welcome
    assert tel_links([messages[4]])[0] == "tel:119"


def test_expired_reply_token_falls_back_to_push_with_a_retry_key(live: LiveApp) -> None:
    r = Resident(live)
    event = r.text("今月の家賃のことで")
    live.emulator.expire_reply_token(event["replyToken"])
    r.send(event)
    r.wait_messages(1)
    [row] = finished_rows(live, r.user_id, 1)
    assert row.sent_via == "push"
    pushes = [c for c in live.emulator.deliveries() if c.path == "/v2/bot/message/push"]
    assert [c.retry_key for c in pushes] == [row.retry_key]


def test_reply_token_past_its_deadline_is_not_tried(
        fresh_database_url: str, live_factory: Callable[..., LiveApp]) -> None:
    # Its own database: beside the module's server on the shared one, that server's worker
    # could take the event and answer through its own emulator.
    live = live_factory(fresh_database_url, reply_token_ttl_seconds=0)
    r = Resident(live)
    r.send(r.text("遅れて届いたメッセージ"))
    r.wait_messages(1)
    paths = [c.path for c in live.emulator.calls if c.path.startswith("/v2/bot/message")]
    assert paths == ["/v2/bot/message/push"]


def test_rate_limit_then_success_delivers_once(live: LiveApp) -> None:
    r = Resident(live)
    live.emulator.inject_faults([429, 500])
    r.send(r.text("家賃が払えません"))
    messages = r.wait_messages(1)
    [row] = finished_rows(live, r.user_id, 1)
    assert row.attempts == 3 and row.sent_via == "reply"
    texts = [m.get("text") for m in messages]
    assert len(texts) == len(set(texts))
    statuses = [c.status for c in live.emulator.calls if c.path == "/v2/bot/message/reply"]
    assert statuses == [429, 500, 200]


def test_push_retries_reuse_one_retry_key_and_409_counts_as_delivered(live: LiveApp) -> None:
    r = Resident(live)
    live.emulator.inject_faults([503])
    with live.session() as s, s.begin():  # a message with no reply token: pushed
        s.add(OutboxMessage(line_user_id=r.user_id,
                            messages=[{"type": "text", "text": "お変わりありませんか"}]))
    live.runtime.wake_outbox()
    [row] = finished_rows(live, r.user_id, 1)
    pushes = [c for c in live.emulator.calls if c.path == "/v2/bot/message/push"]
    assert [c.status for c in pushes] == [503, 200]
    assert {c.retry_key for c in pushes} == {row.retry_key}

    # The answer to an accepted push is lost (a crash, a timeout): the row goes out again.
    with live.session() as s, s.begin():
        lost = s.get(OutboxMessage, row.id)
        assert lost is not None
        lost.status, lost.next_attempt_at = OutboxStatus.PENDING, utcnow()
    live.runtime.wake_outbox()
    wait_for(lambda: [c.status for c in live.emulator.calls
                      if c.path == "/v2/bot/message/push"] == [503, 200, 409])
    wait_for(lambda: outbox_rows(live, r.user_id)[0].status == OutboxStatus.SENT)
    assert len(r.bot_messages()) == len(row.messages)  # on the phone once, not twice


def test_rejected_message_is_given_up_and_later_rows_still_go(live: LiveApp) -> None:
    r = Resident(live)
    with live.session() as s, s.begin():
        s.add(OutboxMessage(line_user_id=r.user_id, messages=[{"type": "text", "text": ""}]))
    live.runtime.wake_outbox()
    r.send(r.text("つぎのメッセージ"))
    r.wait_messages(1)
    rows = finished_rows(live, r.user_id, 2)
    assert rows[0].status == OutboxStatus.FAILED and "400" in (rows[0].last_error or "")
    assert rows[1].status == OutboxStatus.SENT


def test_group_messages_are_kept_but_not_answered(live: LiveApp) -> None:
    group = {"type": "group", "groupId": "C" + uuid.uuid4().hex, "userId": "U" + "1" * 32}
    join = line_events.base_event("join", "U" + "1" * 32, reply_token=None)
    join["source"] = group
    join["replyToken"] = live.emulator.issue_reply_token(group["groupId"])
    text = line_events.text_event("U" + "1" * 32, "みなさんこんにちは")
    text["source"] = group
    assert live.post([join, text]).status_code == 200
    ours = InboxEvent.source_key == source_key(join)
    assert source_key(text) == source_key(join)
    wait_for(lambda: live.count(InboxEvent, ours, InboxEvent.status == InboxStatus.PENDING) == 0)
    assert live.count(InboxEvent, ours) == 2
    assert live.count(InboxEvent, ours, InboxEvent.status == InboxStatus.IGNORED) == 1
    wait_for(lambda: live.emulator.bot_messages(group["groupId"]))
    assert "1対1" in live.emulator.bot_messages(group["groupId"])[0]["text"]


def test_no_profile_is_fetched(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow(), r.text("相談です"))
    r.wait_messages(4)
    assert live.emulator.profile_fetches == []
