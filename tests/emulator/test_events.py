"""Event builders and signing, checked with the SDK's own webhook parser and models."""

from __future__ import annotations

import json
import re

import pytest
from line_emulator import events
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

SECRET = "events-test-secret"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def parse(event_list: list[events.Event]) -> list[object]:
    body, headers = events.signed_webhook(event_list, secret=SECRET, destination="U" + "a" * 32)
    return WebhookParser(SECRET).parse(body.decode("utf-8"), headers["X-Line-Signature"])


def test_ids_look_like_lines() -> None:
    assert re.fullmatch(r"U[0-9a-f]{32}", events.new_user_id())
    assert ULID.match(events.new_ulid())
    assert re.fullmatch(r"\d{18}", events.new_message_id())
    # ULIDs sort by time, which is what makes them useful as event ids
    assert events.new_ulid(1_000)[:10] < events.new_ulid(2_000)[:10]


def test_text_event_parses_as_a_message_event() -> None:
    user = events.new_user_id()
    (event,) = parse([events.text_event(user, "こんにちは", reply_token="r1")])
    assert isinstance(event, MessageEvent)
    assert isinstance(event.source, UserSource)
    assert event.source.user_id == user
    assert event.reply_token == "r1"
    assert event.mode.value == "active"
    assert event.delivery_context.is_redelivery is False
    assert ULID.match(event.webhook_event_id)
    assert isinstance(event.message, TextMessageContent)
    assert event.message.text == "こんにちは"
    assert event.message.quote_token


def test_other_events_parse_with_their_models() -> None:
    user = events.new_user_id()
    parsed = parse(
        [
            events.postback_event(user, "cat=money"),
            events.follow_event(user, is_unblocked=True),
            events.unfollow_event(user),
            events.sticker_event(user),
            events.image_event(user),
        ]
    )
    postback, follow, unfollow, sticker, image = parsed
    assert isinstance(postback, PostbackEvent) and postback.postback.data == "cat=money"
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is True
    assert isinstance(unfollow, UnfollowEvent)
    assert isinstance(sticker, MessageEvent) and isinstance(sticker.message, StickerMessageContent)
    assert sticker.message.sticker_resource_type == "STATIC"
    assert isinstance(image, MessageEvent) and isinstance(image.message, ImageMessageContent)
    assert image.message.content_provider.type == "line"


def test_unfollow_has_no_reply_token() -> None:
    assert "replyToken" not in events.unfollow_event(events.new_user_id())


def test_body_keeps_japanese_unescaped_and_signature_covers_exact_bytes() -> None:
    event = events.text_event(events.new_user_id(), "助けて")
    body, headers = events.signed_webhook([event], secret=SECRET)
    assert "助けて".encode() in body
    assert json.loads(body)["events"][0] == event
    with pytest.raises(InvalidSignatureError):
        WebhookParser(SECRET).parse(body.decode() + " ", headers["X-Line-Signature"])
    with pytest.raises(InvalidSignatureError):
        WebhookParser("another-secret").parse(body.decode(), headers["X-Line-Signature"])
