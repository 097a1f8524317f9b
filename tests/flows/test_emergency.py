"""Danger now, on the shipped content: the numbers for the danger, most urgent first, opened by
the words for it, true at any hour. Pure: no database."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest
from line_emulator.validation import validate_messages
from linebot.v3.messaging import FlexMessage

from bot.content.schema import Resources
from bot.flows.emergency import contacts_for, emergency_step, opening_for
from bot.flows.engine import RETURN_TO, Dialogue, FlowRunner
from bot.flows.render import CONTACTS
from bot.releases.load import Content

from .helpers import (
    DIALOGUES,
    TOKYO,
    Chat,
    intake_runner,
    labels,
    messages_of,
    postback,
    tel_links,
    texts_of,
)

OVERDOSE = ("plan_means",)  # 薬を全部飲んだ
VIOLENCE = ("violence",)  # 今、夫に殴られています
CHILD = ("child_abuse", "violence")  # 子どもが今叩かれてる
SUICIDE = ("isolation", "suicidal_ideation")  # もう無理です。今夜死のうと思う
NO_FOOD = ("no_food",)
NIGHT = datetime(2026, 11, 24, 2, 30, tzinfo=TOKYO)  # a Tuesday, long before any desk opens


def interrupt(runner: FlowRunner, content: Content, categories: tuple[str, ...],
              state: str = "areas") -> Any:
    dialogue = copy.deepcopy(DIALOGUES[state])
    return emergency_step(runner, dialogue, content.messages, content.resources, categories)


def first_words(step: Any) -> str:
    return texts_of(step)[0]


# --------------------------------------------------------------------------- by danger


def test_an_overdose_gets_119_first_and_the_words_to_call_now(runner: FlowRunner,
                                                              content: Content) -> None:
    step = interrupt(runner, content, OVERDOSE)
    assert first_words(step).startswith("いますぐ119に電話")
    links = tel_links(messages_of(step))
    assert links[:2] == ["tel:119", "tel:%237119"]
    assert "この番号が使えない地域もあります" in "".join(texts_of(step))  # #7119's note


def test_violence_now_gets_110_first_then_the_dv_lines(runner: FlowRunner,
                                                       content: Content) -> None:
    step = interrupt(runner, content, VIOLENCE)
    assert "安全な場所" in first_words(step) and "110" in first_words(step)
    assert tel_links(messages_of(step))[:3] == ["tel:110", "tel:%238008", "tel:0120279889"]


def test_a_child_in_danger_gets_189_then_110(runner: FlowRunner, content: Content) -> None:
    step = interrupt(runner, content, CHILD)
    assert "189" in first_words(step)
    links = tel_links(messages_of(step))
    assert links[:2] == ["tel:189", "tel:110"]
    assert "tel:%238008" in links  # the violence it also shows keeps its own numbers


def test_wishing_to_die_gets_the_national_lines_and_119(runner: FlowRunner,
                                                        content: Content) -> None:
    step = interrupt(runner, content, SUICIDE)
    links = tel_links(messages_of(step))
    national = ["tel:0120279338", "tel:0120783556", "tel:0570783556", "tel:0570064556"]
    assert links[:4] == national
    assert "tel:119" in links
    assert "119" in first_words(step)


def test_no_food_gets_the_24_hour_line_first(runner: FlowRunner, content: Content) -> None:
    step = interrupt(runner, content, NO_FOOD)
    assert tel_links(messages_of(step))[:2] == ["tel:0120279338", "tel:119"]


def test_unknown_categories_get_the_general_numbers_and_words(runner: FlowRunner,
                                                              content: Content) -> None:
    for categories in [(), ("something_new",)]:
        step = interrupt(runner, content, categories)
        assert tel_links(messages_of(step)) == [h.uri for h in content.resources.general()]
        assert first_words(step) == content.messages.risk_imminent[0]


@pytest.mark.parametrize("categories", [OVERDOSE, VIOLENCE, CHILD, SUICIDE, NO_FOOD, ()])
def test_119_and_110_are_always_offered(runner: FlowRunner, content: Content,
                                        categories: tuple[str, ...]) -> None:
    links = tel_links(messages_of(interrupt(runner, content, categories)))
    assert {"tel:119", "tel:110"} <= set(links)
    assert len(links) == len(set(links))  # each number once


def test_every_shipped_danger_has_its_own_first_words(content: Content) -> None:
    assert {d.id for d in content.resources.dangers} == \
        set(content.messages.risk_imminent_by_danger)


# --------------------------------------------------------------------------- the reply


@pytest.mark.parametrize("categories", [OVERDOSE, VIOLENCE, CHILD, SUICIDE, NO_FOOD, ()])
def test_the_reply_is_valid_for_line_and_the_numbers_come_in_the_first_request(
        runner: FlowRunner, content: Content, categories: tuple[str, ...]) -> None:
    messages = messages_of(interrupt(runner, content, categories))
    assert len(messages) <= 5  # one reply: nothing waits for a push
    assert validate_messages(messages) == []
    [card] = [m for m in messages if m["type"] == "flex"]
    assert FlexMessage.from_dict(card).to_dict() == card  # the SDK sends it as built


@pytest.mark.parametrize("categories", [OVERDOSE, VIOLENCE, CHILD, SUICIDE, NO_FOOD, ()])
def test_help_is_offered_before_going_back_to_the_form(runner: FlowRunner, content: Content,
                                                       categories: tuple[str, ...]) -> None:
    step = interrupt(runner, content, categories)
    offered = labels(step)
    assert offered[0] == "人と話したい"
    assert "続きから" in offered[1:]


def test_the_flow_waits_in_its_emergency_state_and_keeps_no_chosen_numbers(
        runner: FlowRunner, content: Content) -> None:
    step = interrupt(runner, content, OVERDOSE, state="municipality")
    assert step.state == "emergency"
    assert step.answers[RETURN_TO] == "municipality"
    assert CONTACTS not in step.answers
    chat = Chat(runner, Dialogue(step.state, step.answers, step.consent))
    chat.last = step
    chat.tap("続きから")
    assert chat.state == "municipality"


def test_the_emergency_button_afterwards_shows_the_general_numbers(runner: FlowRunner,
                                                                    content: Content) -> None:
    step = interrupt(runner, content, VIOLENCE)
    again = runner.step(Dialogue(step.state, step.answers, step.consent), postback("g=emergency"))
    assert tel_links(messages_of(again)) == [h.uri for h in content.resources.general()]


@pytest.mark.parametrize("categories", [OVERDOSE, VIOLENCE, CHILD, SUICIDE, NO_FOOD, ()])
def test_the_words_are_true_at_night(content: Content, categories: tuple[str, ...]) -> None:
    step = interrupt(intake_runner(content, NIGHT), content, categories)
    said = "".join(texts_of(step))
    assert "相談員がいる時間なら" not in said
    assert "{" not in said
    assert "いちばん急ぐ相談" in said
    assert "いまは相談員がいない時間です" in said


def test_the_words_say_a_counsellor_is_on_duty_by_day(runner: FlowRunner,
                                                      content: Content) -> None:
    said = "".join(texts_of(interrupt(runner, content, OVERDOSE)))
    assert "いまは相談員がいる時間です" in said


# --------------------------------------------------------------------------- ordering


def test_dangers_take_turns_at_the_top() -> None:
    resources = Resources.model_validate({
        "hotlines": [
            {"id": "a", "label": "A", "tel": "110", "categories": ["violence"], "general": True},
            {"id": "b", "label": "B", "tel": "189", "categories": ["child_abuse"]},
            {"id": "c", "label": "C", "tel": "#8008", "categories": ["violence"]},
            {"id": "d", "label": "D", "tel": "119", "categories": ["child_abuse"]},
            {"id": "e", "label": "E", "tel": "0120-000-000", "categories": ["violence"]},
        ],
        "dangers": [
            {"id": "child", "categories": ["child_abuse"], "first": ["b", "d"]},
            {"id": "violence", "categories": ["violence"], "first": ["a", "c"]},
        ],
    })
    assert [h.id for h in contacts_for(resources, ["violence", "child_abuse"])] == \
        ["b", "a", "d", "c", "e"]
    assert [h.id for h in contacts_for(resources, ["violence"])] == ["a", "c", "e"]
    assert [h.id for h in contacts_for(resources, [])] == ["a"]


def test_the_most_urgent_danger_gives_the_words(content: Content) -> None:
    both = opening_for(content.messages, content.resources, ("suicidal_ideation", "plan_means"))
    assert both == content.messages.risk_imminent_by_danger["injury"]
