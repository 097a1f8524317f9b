"""The first slice of the flow: every kind of event gets a defined, bounded answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.content import Content, load_content
from bot.flows.slice import START, respond, respond_to_group
from bot.settings import DEFAULT_CONTENT_DIR

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "line-spec" / "sample-webhook.json"


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


def user_event(kind: str, **extra: object) -> dict[str, object]:
    return {"type": kind, "source": {"type": "user", "userId": "U1"}, "replyToken": "t", **extra}


def quick_reply_labels(message: dict[str, object]) -> list[str]:
    items = (message.get("quickReply") or {}).get("items", [])  # type: ignore[union-attr]
    return [i["action"]["label"] for i in items]


def test_follow_greets_explains_confidentiality_and_offers_choices(content: Content) -> None:
    reaction = respond(user_event("follow", follow={"isUnblocked": False}), START, content)
    body = "".join(m["text"] for m in reaction.messages)
    assert "ありがとう" in body and "秘密" in body and "名前" in body
    assert reaction.following is True
    assert quick_reply_labels(reaction.messages[-1]) == ["人と話したい", "使える支援を知りたい",
                                                         "緊急の連絡先"]


def test_any_text_is_acknowledged_warmly(content: Content) -> None:
    for words in ["わからない", "😢", "x" * 5000, ""]:
        event = user_event("message", message={"type": "text", "id": "1", "text": words})
        reaction = respond(event, START, content)
        assert "受け取りました" in reaction.messages[0]["text"]
        assert quick_reply_labels(reaction.messages[-1])


@pytest.mark.parametrize("kind", ["sticker", "image", "video", "audio", "location", "file"])
def test_non_text_messages_get_a_kind_answer(content: Content, kind: str) -> None:
    reaction = respond(user_event("message", message={"type": kind, "id": "1"}), START, content)
    assert reaction.messages and "ありがとう" in reaction.messages[0]["text"]


def test_emergency_choice_gives_tappable_numbers(content: Content) -> None:
    reaction = respond(user_event("postback", postback={"data": "action=emergency"}), START,
                       content)
    template = reaction.messages[-1]["template"]
    uris = [a["uri"] for a in template["actions"]]
    assert "tel:119" in uris and "tel:110" in uris
    assert "119" in reaction.messages[-1]["altText"]


@pytest.mark.parametrize("data", ["action=person", "action=support_info", "action=unknown", "",
                                  "%%%", "a" * 300])
def test_every_postback_is_answered(content: Content, data: str) -> None:
    assert respond(user_event("postback", postback={"data": data}), START, content).messages


def test_unfollow_records_the_block_and_says_nothing(content: Content) -> None:
    reaction = respond(user_event("unfollow"), START, content)
    assert reaction.messages == [] and reaction.following is False


def test_group_join_explains_one_to_one_and_group_messages_are_ignored(content: Content) -> None:
    assert respond_to_group({"type": "join"}, content)
    assert respond_to_group({"type": "message", "message": {"type": "text"}}, content) == []


def test_every_sample_event_gets_a_defined_reaction(content: Content) -> None:
    events = json.loads(SAMPLE.read_text())["events"]
    for event in events:
        if event["source"]["type"] == "user":
            reaction = respond(event, START, content)
            assert len(reaction.messages) <= 5
        else:
            assert len(respond_to_group(event, content)) <= 5


def test_asking_for_a_person_is_honest_about_waiting_and_offers_a_phone(content: Content) -> None:
    reaction = respond(user_event("postback", postback={"data": "action=person"}), START, content)
    assert "お時間" in reaction.messages[0]["text"]
    assert reaction.messages[-1]["template"]["actions"][0]["uri"].startswith("tel:")
