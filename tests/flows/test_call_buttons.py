"""The emergency numbers as LINE shows them: one Flex bubble, a working `tel:` button for every
number, hours and cost where the content knows them. Pure: no database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from line_emulator.validation import validate_messages

from bot.content.schema import MAX_HOTLINES, Hotline
from bot.line import call_buttons, call_label
from bot.releases.load import Content

from .helpers import call_actions, tel_links


def hotline(tel: str, **extra: Any) -> Hotline:
    return Hotline.model_validate({"id": "x", "label": "窓口", "tel": tel,
                                   "categories": ["no_food"], **extra})


@pytest.mark.parametrize(("tel", "uri"), [
    ("119", "tel:119"),
    ("#8008", "tel:%238008"),
    ("#7119", "tel:%237119"),
    ("0120-279-338", "tel:0120279338"),
    ("0570783556", "tel:0570783556"),
    ("090-1234-5678", "tel:09012345678"),
])
def test_tel_links_dial_digits_and_encode_hash(tel: str, uri: str) -> None:
    assert hotline(tel).uri == uri


def test_every_shipped_number_has_a_working_button(content: Content) -> None:
    card = call_buttons("電話できます。", content.resources.hotlines)
    actions = call_actions([card])
    assert [a["uri"] for a in actions] == [h.uri for h in content.resources.hotlines]
    for action, h in zip(actions, content.resources.hotlines, strict=True):
        assert action["uri"][4:].replace("%23", "").isdigit()
        assert h.tel in action["label"] and len(action["label"]) <= 20  # hyphens shown
    assert validate_messages([card]) == []


def test_hours_and_cost_are_shown_where_known(content: Content) -> None:
    card = call_buttons("電話できます。", content.resources.hotlines)
    shown = json.dumps(card, ensure_ascii=False)
    assert "24時間・無料" in shown and "毎日16時〜21時・無料" in shown
    assert "通話料がかかります" in shown  # the 0570 numbers
    dv_navi = next(h for h in content.resources.hotlines if h.id == "dv_navi")
    assert dv_navi.terms == ""  # not known: nothing is claimed
    assert "・DV相談ナビ #8008 お近く" in card["altText"]


def test_as_many_numbers_as_content_may_hold_stay_in_one_valid_message() -> None:
    many = [Hotline.model_validate({
        "id": f"n{i}", "label": "あ" * 40, "tel": f"0120-000-{i:03d}", "hours": "い" * 40,
        "free": True, "note": "う" * 80, "categories": ["no_food"]}) for i in range(MAX_HOTLINES)]
    card = call_buttons("え" * 200, many)
    assert len(tel_links([card])) == MAX_HOTLINES
    assert validate_messages([card]) == []
    # LINE: 30 KB a bubble; measured as the SDK sends it (json.dumps escapes to ASCII).
    assert len(json.dumps(card["contents"]).encode()) < 30_000
    assert len(card["altText"]) <= 1500


def test_the_most_urgent_button_stands_out(content: Content) -> None:
    card = call_buttons("電話できます。", content.resources.general())
    buttons = [n for n in _nodes(card) if n.get("type") == "button"]
    assert [b["style"] for b in buttons] == ["primary"] + ["secondary"] * (len(buttons) - 1)
    assert buttons[0]["action"]["label"] == "119 に電話する" == \
        call_label(content.resources.hotlines[0])


def _nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _nodes(v))]
    if isinstance(node, list):
        return [n for v in node for n in _nodes(v)]
    return []
