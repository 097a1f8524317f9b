"""The waiting part of the shipped intake on the engine alone: asking for the wait, giving up,
a call-back request. (What is told comes from the live queue: tests/journey/test_waiting.py.)"""

from __future__ import annotations

import copy

import pytest

from bot.flows import intents as it
from bot.flows.engine import (
    CALLBACK_PHONE,
    CALLBACK_PHONE_OK,
    CALLBACK_WINDOW,
    NOTES,
    Dialogue,
    FlowRunner,
)

from .helpers import DIALOGUES, Chat, intents_of, messages_of, postback, tel_links, texts_of

CALLBACK_KEYS = {CALLBACK_WINDOW, CALLBACK_PHONE_OK, CALLBACK_PHONE}


def chat_in(runner: FlowRunner, state: str, **consent: bool) -> Chat:
    dialogue = copy.deepcopy(DIALOGUES[state])
    if consent:
        dialogue = Dialogue(dialogue.state, dialogue.answers, dict(consent))
    return Chat(runner, dialogue)


@pytest.mark.parametrize("words", ["まだですか", "まだですか？", "どのくらい待ちますか",
                                   "待ち時間", "いつ返事がきますか"])
def test_asking_for_the_wait_while_waiting_tells_it(runner: FlowRunner, words: str) -> None:
    chat = chat_in(runner, "handoff")
    step = chat.say(words)
    assert chat.state == "waiting"
    kinds = [type(i) for i in step.intents if not isinstance(i, it.Send)]
    assert kinds == [it.OpenCase, it.TellWait]  # the case brought forward, then the wait told


def test_a_question_about_the_wait_inside_a_longer_message_is_answered_and_forwarded(
        runner: FlowRunner) -> None:
    words = "すみません、あとどのくらい待てばいいですか"
    chat = chat_in(runner, "handoff")
    step = chat.say(words)
    assert chat.state == "waiting"
    assert intents_of(step, it.ForwardToCase) == [it.ForwardToCase(words)]
    assert intents_of(step, it.TellWait) == [it.TellWait()]
    assert NOTES not in chat.answers  # forwarded, not kept as a note for the next case copy


def test_other_words_while_waiting_are_only_forwarded(runner: FlowRunner) -> None:
    chat = chat_in(runner, "waiting")
    step = chat.say("家賃の督促状が届きました")
    assert chat.state == "waiting"
    assert intents_of(step, it.TellWait) == []
    assert texts_of(step) == ["受け取りました。相談員にお伝えします。"]


def test_asking_for_the_wait_before_consent_asks_for_consent_first(runner: FlowRunner) -> None:
    chat = chat_in(runner, "age")
    step = chat.say("まだですか")
    assert chat.state == "consent_counsel"
    assert intents_of(step, it.TellWait) == [] and intents_of(step, it.OpenCase) == []


@pytest.mark.parametrize("words", ["もういいです", "もう待てない", "もういいや"])
def test_giving_up_says_goodbye_with_the_numbers_and_a_way_back(runner: FlowRunner,
                                                                 words: str) -> None:
    chat = chat_in(runner, "waiting")
    step = chat.say(words)
    assert chat.state == "gave_up"
    assert intents_of(step, it.GiveUp) == [it.GiveUp(words)]
    said = "\n".join(texts_of(step))
    assert "待ってくださって" in said and "このまま残しておきます" in said
    assert tel_links(messages_of(step))[:2] == ["tel:119", "tel:110"]
    labels = [item["action"]["label"] for item in
              messages_of(step)[-1]["quickReply"]["items"]]
    assert labels[:2] == ["続きから", "人と話したい"]

    back = chat.tap("続きから")
    assert chat.state == "waiting" and intents_of(back, it.TellWait) == [it.TellWait()]


def test_giving_up_then_a_person_tells_the_wait_again(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    chat.say("もういいです")
    step = chat.tap("人と話したい")
    assert chat.state == "handoff" and intents_of(step, it.TellWait) == [it.TellWait()]


def test_giving_up_before_consent_only_pauses(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.say("もういいです")
    assert chat.state == "paused"


def walk_to_phone(runner: FlowRunner) -> Chat:
    chat = chat_in(runner, "handoff")
    step = chat.send(postback("g=callback"))  # the safety net's button
    assert chat.state == "callback" and "時間帯" in "\n".join(texts_of(step))
    chat.tap("平日の夕方")
    assert chat.state == "callback_phone_ok"
    assert "このご相談の記録にだけ残します" in "\n".join(texts_of(chat.last))
    return chat


def test_a_call_back_with_the_number_takes_it_out_of_the_answers(runner: FlowRunner) -> None:
    chat = walk_to_phone(runner)
    chat.tap("番号を伝える")
    assert chat.state == "callback_phone"
    step = chat.say("０９０－１２３４－５６７８")
    assert chat.state == "callback_done"
    assert intents_of(step, it.RequestCallback) == [it.RequestCallback(
        window="平日の夕方", phone="０９０－１２３４－５６７８", phone_consent=True)]
    assert not CALLBACK_KEYS & set(chat.answers)


def test_a_call_back_without_the_number_keeps_no_number(runner: FlowRunner) -> None:
    chat = walk_to_phone(runner)
    step = chat.tap("番号は伝えない")
    assert chat.state == "callback_line"
    assert intents_of(step, it.RequestCallback) == [it.RequestCallback(
        window="平日の夕方", phone=None, phone_consent=False)]
    assert not CALLBACK_KEYS & set(chat.answers)


def test_changing_ones_mind_at_the_number_keeps_no_number(runner: FlowRunner) -> None:
    chat = walk_to_phone(runner)
    chat.tap("番号を伝える")
    step = chat.tap("番号は伝えない")
    assert intents_of(step, it.RequestCallback) == [it.RequestCallback(
        window="平日の夕方", phone=None, phone_consent=False)]


@pytest.mark.parametrize("state", ["callback", "callback_phone_ok", "callback_phone"])
def test_a_call_back_can_be_cancelled_at_every_step(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    step = chat.tap("やめておく")
    assert chat.state == "waiting"
    assert intents_of(step, it.RequestCallback) == []
    assert not CALLBACK_KEYS & set(chat.answers)


def test_a_call_back_before_consent_asks_for_consent_first(runner: FlowRunner) -> None:
    chat = chat_in(runner, "age")
    chat.send(postback("g=callback"))
    assert chat.state == "consent_counsel"
