"""LINE's limits on message objects, checked directly on the pure validator."""

from __future__ import annotations

from typing import Any

import pytest
from line_emulator.validation import utf16_len, validate_messages


def text(t: str = "こんにちは", **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **extra}


def postback(label: str | None = "はい", data: str = "yes", **extra: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "postback", "data": data, **extra}
    if label is not None:
        action["label"] = label
    return action


def quick(*actions: dict[str, Any]) -> dict[str, Any]:
    return text(quickReply={"items": [{"type": "action", "action": a} for a in actions]})


def buttons(text_: str = "選んでください", n: int = 2, **extra: Any) -> dict[str, Any]:
    actions = [postback(f"選択{i}", f"c{i}") for i in range(n)]
    template = {"type": "buttons", "text": text_, "actions": actions, **extra}
    return {"type": "template", "altText": "選択肢", "template": template}


def confirm(text_: str = "よろしいですか？", n: int = 2) -> dict[str, Any]:
    actions = [postback(f"選択{i}", f"c{i}") for i in range(n)]
    template = {"type": "confirm", "text": text_, "actions": actions}
    return {"type": "template", "altText": "確認", "template": template}


def props(messages: Any) -> list[str]:
    return [prop for prop, _ in validate_messages(messages)]


def test_a_realistic_reply_is_accepted() -> None:
    messages = [
        text("ご相談ありがとうございます。\n電話: tel:0120-000-000"),
        quick(
            postback("お金のこと", "cat=money", displayText="お金のこと"),
            {"type": "message", "label": "住まい", "text": "住まいのこと"},
            {"type": "uri", "uri": "tel:0120000000"},
        ),
        buttons(title="ご相談の内容", text_="どれに近いですか？", n=4),
        confirm(),
        {"type": "flex", "altText": "窓口の案内", "contents": {"type": "bubble"}},
    ]
    assert validate_messages(messages) == []


@pytest.mark.parametrize("messages", [None, [], [text()] * 6, "text", {"type": "text"}])
def test_one_to_five_messages(messages: Any) -> None:
    assert props(messages) == ["messages"]


def test_five_messages_are_fine() -> None:
    assert validate_messages([text()] * 5) == []


def test_text_length_counts_utf16_units() -> None:
    assert utf16_len("😀") == 2
    assert validate_messages([text("あ" * 5000)]) == []
    assert validate_messages([text("😀" * 2500)]) == []
    assert validate_messages([text("😀" * 2500 + "a")]) == [
        ("messages[0].text", "Length must be between 1 and 5000")
    ]
    assert props([text("")]) == ["messages[0].text"]
    assert props([{"type": "text"}]) == ["messages[0].text"]


def test_quick_reply_has_one_to_thirteen_items() -> None:
    assert validate_messages([quick(*[postback(f"{i}", f"{i}") for i in range(13)])]) == []
    too_many = quick(*[postback(f"{i}", f"{i}") for i in range(14)])
    assert props([too_many]) == ["messages[0].quickReply.items"]
    assert props([text(quickReply={"items": []})]) == ["messages[0].quickReply.items"]


def test_labels_are_required_for_postback_and_message_actions() -> None:
    assert props([quick(postback(label=None))]) == ["messages[0].quickReply.items[0].action.label"]
    no_label = {"type": "message", "text": "はい"}
    assert props([quick(no_label)]) == ["messages[0].quickReply.items[0].action.label"]
    # uri quick replies may go without a label
    assert validate_messages([quick({"type": "uri", "uri": "https://example.jp"})]) == []


def test_labels_are_at_most_twenty_characters() -> None:
    assert validate_messages([quick(postback("あ" * 20))]) == []
    assert validate_messages([quick(postback("あ" * 21))]) == [
        ("messages[0].quickReply.items[0].action.label", "Length must be between 1 and 20")
    ]


def test_postback_data_is_at_most_300_characters() -> None:
    assert validate_messages([quick(postback(data="x" * 300))]) == []
    assert props([quick(postback(data="x" * 301))]) == [
        "messages[0].quickReply.items[0].action.data"
    ]
    missing = {"type": "postback", "label": "はい"}
    assert props([quick(missing)]) == ["messages[0].quickReply.items[0].action.data"]


def test_postback_display_text_is_limited_too() -> None:
    assert props([quick(postback(displayText="x" * 301))]) == [
        "messages[0].quickReply.items[0].action.displayText"
    ]


@pytest.mark.parametrize("value", ["", "x" * 301])
def test_message_action_text_is_one_to_300_characters(value: str) -> None:
    action = {"type": "message", "label": "送る", "text": value}
    assert props([quick(action)]) == ["messages[0].quickReply.items[0].action.text"]


def test_uri_schemes_are_limited() -> None:
    bad = {"type": "uri", "label": "開く", "uri": "javascript:alert(1)"}
    assert props([quick(bad)]) == ["messages[0].quickReply.items[0].action.uri"]


def test_unknown_action_type() -> None:
    assert props([quick({"type": "teleport", "label": "x"})]) == [
        "messages[0].quickReply.items[0].action.type"
    ]


@pytest.mark.parametrize("n", [0, 5])
def test_buttons_have_one_to_four_actions(n: int) -> None:
    assert props([buttons(n=n)]) == ["messages[0].template.actions"]


def test_buttons_actions_need_labels() -> None:
    message = buttons()
    del message["template"]["actions"][1]["label"]
    assert props([message]) == ["messages[0].template.actions[1].label"]


def test_buttons_text_is_160_or_60_with_a_title_or_image() -> None:
    assert validate_messages([buttons("あ" * 160)]) == []
    assert props([buttons("あ" * 161)]) == ["messages[0].template.text"]
    assert validate_messages([buttons("あ" * 60, title="見出し")]) == []
    assert props([buttons("あ" * 61, title="見出し")]) == ["messages[0].template.text"]
    with_image = buttons("あ" * 61, thumbnailImageUrl="https://example.jp/a.png")
    assert props([with_image]) == ["messages[0].template.text"]
    assert props([buttons(title="あ" * 41)]) == ["messages[0].template.title"]


@pytest.mark.parametrize("n", [1, 3])
def test_confirm_has_exactly_two_actions(n: int) -> None:
    assert validate_messages([confirm(n=n)]) == [
        ("messages[0].template.actions", "Size must be exactly 2")
    ]


def test_confirm_text_is_at_most_240_characters() -> None:
    assert validate_messages([confirm("あ" * 240)]) == []
    assert props([confirm("あ" * 241)]) == ["messages[0].template.text"]


@pytest.mark.parametrize("alt", [None, "", "あ" * 1501])
def test_alt_text_is_one_to_1500_characters(alt: str | None) -> None:
    template = buttons()
    flex: dict[str, Any] = {"type": "flex", "contents": {"type": "bubble"}}
    if alt is None:
        del template["altText"]
    else:
        template["altText"] = alt
        flex["altText"] = alt
    assert props([template, flex]) == ["messages[0].altText", "messages[1].altText"]


def test_flex_needs_contents_and_checks_its_actions() -> None:
    assert props([{"type": "flex", "altText": "案内"}]) == ["messages[0].contents"]
    bubble = {
        "type": "bubble",
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "button", "action": postback("詳しく", "x" * 301)}],
        },
    }
    assert props([{"type": "flex", "altText": "案内", "contents": bubble}]) == [
        "messages[0].contents.footer.contents[0].action.data"
    ]


def test_unknown_message_type() -> None:
    assert validate_messages([text(), {"type": "hologram"}]) == [
        ("messages[1].type", "Invalid message type: hologram")
    ]
    assert props([{"text": "no type"}]) == ["messages[0].type"]


def test_every_problem_is_reported() -> None:
    messages = [text(""), confirm(n=3), {"type": "hologram"}]
    assert props(messages) == [
        "messages[0].text",
        "messages[1].template.actions",
        "messages[2].type",
    ]
