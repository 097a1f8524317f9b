"""The flow engine on the shipped intake: one resident input in, next state and intents out."""

from __future__ import annotations

import copy

import pytest

from bot.flows import intents as it
from bot.flows.engine import (
    NOTES,
    RETURN_TO,
    Dialogue,
    FlowRunner,
    Input,
    Step,
    choice_data,
    input_of,
)
from bot.releases.load import Content
from bot.settings import DEFAULT_CONTENT_DIR

from .helpers import (
    AREAS,
    DIALOGUES,
    LONG_AWAY,
    STICKER,
    WHO,
    Chat,
    call_actions,
    choose,
    intents_of,
    labels,
    language_runner,
    messages_of,
    offered,
    postback,
    tel_links,
    text,
    texts_of,
)

STATES = list(DIALOGUES)
LANGUAGES = sorted(p.stem for p in (DEFAULT_CONTENT_DIR / "languages").glob("*.yaml"))
INTERRUPTIONS = ["emergency", "paused", "gave_up", "language", "contact_rules",
                 "contact_neutral", "contact_hours", "contact_saved", "quick_exit"]
INTAKE_STATES = [s for s in STATES if s not in INTERRUPTIONS]
# No question: they listen (the quick exit shows nothing anyone should not see).
LISTENING = ["handoff", "waiting", "callback_line", "callback_done", "quick_exit"]
# States where typed words are a town's name (tests/flows/test_places.py): not a choice missed.
TYPED_NAME = ["municipality", "municipality_area", "municipality_name"]
ASKING = [s for s in STATES if s not in LISTENING]  # states with a question
GLOBAL_TARGETS = {"emergency": "emergency", "pause": "paused", "restart": "welcome",
                  "withdraw": "withdrawn"}


def chat_in(runner: FlowRunner, state: str) -> Chat:
    return Chat(runner, copy.deepcopy(DIALOGUES[state]))


def question_labels(runner: FlowRunner, state: str) -> list[str]:
    """The buttons under the state's question (with the answers its dialogue has: an area's
    towns are those of the area chosen)."""
    return [item["action"]["label"]
            for item in runner.quick_replies(state, DIALOGUES[state].answers)]


# --------------------------------------------------------------------------- fixtures


def test_every_state_has_a_plausible_dialogue(runner: FlowRunner) -> None:
    assert set(DIALOGUES) == set(runner.flow.states)


def test_every_state_but_the_listening_ones_asks_a_question(runner: FlowRunner) -> None:
    assert {n for n, s in runner.flow.states.items() if s.ask is not None} == set(ASKING)


def test_interruption_states_are_the_ones_marked(runner: FlowRunner) -> None:
    assert {n for n, s in runner.flow.states.items() if s.interruption} == set(INTERRUPTIONS)


# --------------------------------------------------------------------------- the happy path


def test_start_welcomes_and_asks_to_begin(runner: FlowRunner) -> None:
    first = runner.start()
    assert first.state == "welcome" and first.answers == {} and first.consent == {}
    body = "".join(texts_of(first))
    # Confidentiality is promised with its one exception (life safety), and no name needed.
    assert "同意なしに" in body and "命にかかわる" in body and "名前" in body
    assert labels(first) == ["はじめる", "使える支援を知りたい", "ことば・Language", "人と話したい",
                             "緊急の連絡先"]


# The whole intake, as a resident taps (and once types) through it.
HAPPY_PATH = [
    ("tap", "はじめる"),
    ("say", "家賃が払えなくて困っています"),
    ("tap", "自分のこと"),
    ("tap", "お金・生活費"),
    ("tap", "仕事"),
    ("tap", "住まい"),
    ("tap", "仕事"),  # changed my mind
    ("tap", "選び終わった"),
    ("tap", "今日の食事がない"),
    ("tap", "選び終わった"),
    ("tap", "みどり市"),
    ("tap", "このままでよい"),
    ("tap", "30代"),
    ("tap", "このLINEで"),
    ("tap", "平日の昼"),
    ("tap", "同意する"),
]


def walk_to_handoff(chat: Chat) -> list[it.Intent]:
    """Follows HAPPY_PATH, collecting every intent on the way."""
    seen: list[it.Intent] = []
    for how, words in HAPPY_PATH:
        step = chat.tap(words) if how == "tap" else chat.say(words)
        seen += step.intents
    return seen


def test_happy_path_reaches_handoff(runner: FlowRunner) -> None:
    chat = Chat(runner)
    walk_to_handoff(chat)
    assert chat.state == "handoff"


def test_happy_path_records_the_answers(runner: FlowRunner) -> None:
    chat = Chat(runner)
    walk_to_handoff(chat)
    assert chat.answers == {
        "trouble": "家賃が払えなくて困っています",
        "consulting_for": "self",
        "life_areas": ["money", "housing"],
        "urgent_needs": ["food"],
        "municipality": "midori",
        "age_band": "thirties",
        "contact_method": "line",
        "contact_time": "weekday_day",
    }


def test_happy_path_asks_one_consent_and_no_blanket_sharing(runner: FlowRunner) -> None:
    """A counsellor may read the talk: that is the one yes the intake asks. Sharing with
    another agency is asked for each referral, naming it and the purpose, and this says so
    before the resident answers."""
    chat = Chat(runner)
    seen = walk_to_handoff(chat)
    assert chat.consent == {"counsellor": True}
    assert [i for i in seen if isinstance(i, it.SetConsent)] == [
        it.SetConsent("counsellor", True)]
    asked = chat_in(runner, "contact_time")
    step = asked.tap("平日の昼")
    assert asked.state == "consent_counsel"
    assert any("そのつど、どこに・何のために伝えるか" in t for t in texts_of(step))


def test_happy_path_opens_the_case_once_on_arrival(runner: FlowRunner) -> None:
    chat = Chat(runner)
    seen = walk_to_handoff(chat)
    assert [i for i in seen if isinstance(i, it.OpenCase)] == [it.OpenCase()]
    assert intents_of(chat.last, it.OpenCase) == [it.OpenCase()]


def test_handoff_names_the_team_and_its_hours(runner: FlowRunner) -> None:
    chat = Chat(runner)
    walk_to_handoff(chat)
    body = "\n".join(texts_of(chat.last))
    assert "相談員におつなぎしました" in body
    assert "月・火・水・木・金 8:30〜17:15" in body
    # Whether a person is on duty now, the place and the wait follow from the live queue
    # (handoff/waiting.py): the step asks for them after the case is opened.
    kinds = [type(i) for i in chat.last.intents if not isinstance(i, it.Send)]
    assert kinds[kinds.index(it.OpenCase):] == [it.OpenCase, it.TellWait]


def test_agreeing_hands_off_at_once(runner: FlowRunner) -> None:
    chat = chat_in(runner, "consent_counsel")
    step = chat.tap("同意する")
    assert chat.state == "handoff" and chat.consent == {"counsellor": True}
    assert it.OpenCase() in step.intents


def test_multi_select_toggles_a_choice_on_and_off(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.tap("お金・生活費")
    chat.tap("仕事")
    assert chat.answers["life_areas"] == ["money", "work"]
    chat.tap("お金・生活費")
    assert chat.state == "areas" and chat.answers["life_areas"] == ["work"]


def test_multi_select_shows_what_is_chosen_and_asks_again(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.tap("住まい")
    step = chat.tap("借金・家計")
    assert texts_of(step)[-1].endswith("（選んだもの：住まい、借金・家計）")
    assert labels(step) == question_labels(runner, "areas")


def test_nothing_urgent_moves_on_at_once(runner: FlowRunner) -> None:
    chat = chat_in(runner, "urgency")
    chat.tap("どれもない")
    assert chat.state == "municipality" and chat.answers["urgent_needs"] == ["none"]


def test_municipalities_come_from_the_content(runner: FlowRunner, content: Content) -> None:
    chat = chat_in(runner, "municipality")
    offered_labels = question_labels(runner, "municipality")
    for m in content.places.municipalities:
        # Ours as buttons; a town served elsewhere is named when typed (test_places.py).
        assert (m.name in offered_labels) == (m.team is not None)
    chat.tap("かわべ市")
    assert chat.state == "centre" and chat.answers["municipality"] == "kawabe"
    assert "かわべ市 よりそい相談窓口" in "".join(texts_of(chat.last))


def test_another_centre_can_be_picked(runner: FlowRunner) -> None:
    chat = chat_in(runner, "centre")
    chat.tap("別の窓口を選ぶ")
    assert chat.state == "centre_pick"
    chat.tap("かわべ市 よりそい相談窓口")
    assert chat.state == "age" and chat.answers["centre"] == "kawabe"


def test_the_picked_centre_is_named_in_the_consent(runner: FlowRunner) -> None:
    chat = chat_in(runner, "consent_counsel")
    chat.answers["centre"] = "kawabe"
    step = chat.send(text("人と話したい"))  # re-enters consent_counsel
    assert "「かわべ市 よりそい相談窓口」の相談員" in texts_of(step)[-1]


# --------------------------------------------------------------------------- typed answers


def every_choice(runner: FlowRunner) -> list[tuple[str, str, str]]:
    """(state, label, value) of every choice the intake offers, options from content included."""
    return [(state, c.label, c.value) for state in STATES for c in runner.choices_of(state)]


def typed_and_tapped(runner: FlowRunner, state: str, label: str,
                     value: str) -> tuple[Step, Step]:
    typed = chat_in(runner, state).send(text(label))
    tapped = chat_in(runner, state).send(choose(state, value))
    return typed, tapped


def test_typing_a_choice_label_works_like_tapping_it(runner: FlowRunner) -> None:
    differ = []
    for state, label, value in every_choice(runner):
        if (state, value) == ("declined", "restart"):
            continue  # see test_restart_choice_in_declined_clears_like_the_global
        typed, tapped = typed_and_tapped(runner, state, label, value)
        if typed != tapped:
            differ.append((state, label))
    assert differ == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_typing_a_choice_label_works_like_tapping_it_in_every_language(content: Content,
                                                                       code: str) -> None:
    # A label may also be one of the language's command words (「tanpa suara」 is the contact
    # settings' keyword and their "no sound" button): on screen, the button wins.
    runner = language_runner(content, code)
    differ = []
    for state, label, value in every_choice(runner):
        if (state, value) == ("declined", "restart"):
            continue  # the global's own words, tested below
        typed, tapped = typed_and_tapped(runner, state, label, value)
        if typed != tapped:
            differ.append((state, label))
    assert differ == []


def test_restart_choice_in_declined_clears_like_the_global(runner: FlowRunner) -> None:
    typed, tapped = typed_and_tapped(runner, "declined", "最初から", "restart")
    assert typed.answers == {} and it.SwitchToCurrentVersion() in typed.intents
    assert tapped.answers == {}
    assert it.SwitchToCurrentVersion() in tapped.intents


@pytest.mark.parametrize(("state", "typed", "expected"), [
    ("age", "３０代", "thirties"),
    ("age", "30代！", "thirties"),
    ("age", "　３０代。　", "thirties"),
    ("contact", "このＬＩＮＥで", "line"),
    ("contact", "このLINEで?", "line"),
    ("who", "自分のこと！！", "self"),
    ("municipality", "みどり市。", "midori"),
])
def test_typed_answers_are_normalised(runner: FlowRunner, state: str, typed: str,
                                      expected: str) -> None:
    chat = chat_in(runner, state)
    ask = runner.flow.states[state].ask
    assert ask is not None and ask.record
    chat.say(typed)
    assert chat.answers[ask.record] == expected
    assert chat.state == ask.next


def test_typed_start_with_punctuation_starts(runner: FlowRunner) -> None:
    chat = Chat(runner)
    chat.say(" はじめる！")
    assert chat.state == "trouble"


def test_typing_straight_away_is_taken_as_the_trouble(runner: FlowRunner) -> None:
    chat = Chat(runner)
    step = chat.say("仕事をなくして、家賃が払えません")
    assert chat.state == "who" and chat.answers["trouble"] == "仕事をなくして、家賃が払えません"
    assert texts_of(step)[0] == "話してくださって、ありがとうございます。"


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize("state", ["areas", "urgency", "municipality"])
def test_wording_adapts_to_who_is_consulting(runner: FlowRunner, state: str) -> None:
    def question(consulting_for: str) -> str:
        answers = {**DIALOGUES[state].answers, "consulting_for": consulting_for}
        return str(runner.question(state, answers)[-1]["text"])

    assert question("self") == question("no_answer")
    assert question("family") == question("friend") == question("neighbour")
    assert question("self") != question("family")
    assert "その方" in question("family") and "その方" not in question("self")


def test_the_areas_question_after_choosing_family(runner: FlowRunner) -> None:
    chat = chat_in(runner, "who")
    step = chat.tap("家族のこと")
    assert chat.state == "areas"
    assert texts_of(step) == [
        "その方が困っていることに近いものを、いくつでも選んでください。"
        "選び終わったら「選び終わった」を押してください。"]


def test_the_areas_question_after_choosing_self(runner: FlowRunner) -> None:
    step = chat_in(runner, "who").tap("自分のこと")
    assert texts_of(step)[0].startswith("いま困っていることに近いもの")


# --------------------------------------------------------------------------- consent


def test_declining_consent_leads_to_declined(runner: FlowRunner) -> None:
    chat = chat_in(runner, "consent_counsel")
    step = chat.tap("同意しない")
    assert chat.state == "declined"
    assert chat.consent == {"counsellor": False}
    assert intents_of(step, it.SetConsent) == [it.SetConsent("counsellor", False)]
    assert intents_of(step, it.OpenCase) == []


def test_declined_shows_the_general_numbers_as_call_buttons(runner: FlowRunner,
                                                            content: Content) -> None:
    step = chat_in(runner, "consent_counsel").tap("同意しない")
    cards = [m for m in messages_of(step) if m["type"] == "flex"]
    assert len(cards) == 1
    general = content.resources.general()
    assert tel_links(cards) == [h.uri for h in general]
    assert [h.tel for h in general][:2] == ["119", "110"]
    assert all(a["type"] == "uri" for a in call_actions(cards))


def test_declined_offers_a_way_back_to_consent(runner: FlowRunner) -> None:
    chat = chat_in(runner, "consent_counsel")
    chat.tap("同意しない")
    chat.tap("相談員に相談したい")
    assert chat.state == "consent_counsel"
    chat.tap("同意する")
    assert chat.consent["counsellor"] is True


def test_withdraw_emits_withdraw_consent_and_clears_every_scope(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    step = chat.say("同意を取り消す")
    assert chat.state == "withdrawn"
    assert intents_of(step, it.WithdrawConsent) == [it.WithdrawConsent()]
    assert chat.consent == {"counsellor": False, "share": False}
    assert "90日" in "".join(texts_of(step))  # retention_days from places.yaml


def test_after_withdrawing_talking_to_a_person_asks_consent_again(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    chat.say("同意を取り消す")
    chat.say("人と話したい")
    assert chat.state == "consent_counsel"


# --------------------------------------------------------------------------- globals


def expected_target(glob: str, state: str) -> str:
    if glob == "person":
        return "handoff" if DIALOGUES[state].consent.get("counsellor") else "consent_counsel"
    return GLOBAL_TARGETS[glob]


def global_label(runner: FlowRunner, name: str) -> str:
    return runner.flow.globals[name].label


@pytest.mark.parametrize("glob", ["person", "emergency", "pause", "restart", "withdraw"])
@pytest.mark.parametrize("state", STATES)
def test_typed_global_works_from_every_state(runner: FlowRunner, state: str, glob: str) -> None:
    chat = chat_in(runner, state)
    step = chat.say(global_label(runner, glob))
    assert messages_of(step)
    assert chat.state == expected_target(glob, state)


@pytest.mark.parametrize("glob", ["person", "emergency", "pause", "restart", "withdraw"])
@pytest.mark.parametrize("state", STATES)
def test_global_button_works_from_every_state(runner: FlowRunner, state: str,
                                              glob: str) -> None:
    chat = chat_in(runner, state)
    step = chat.send(postback(f"g={glob}"))
    assert messages_of(step)
    assert chat.state == expected_target(glob, state)


@pytest.mark.parametrize("state", STATES)
def test_restart_clears_answers_and_switches_version(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    step = chat.say("最初から")
    assert chat.answers == {}
    assert it.SwitchToCurrentVersion() in step.intents


@pytest.mark.parametrize("state", STATES)
def test_withdraw_from_every_state_withdraws(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    step = chat.say("同意を取り消す")
    assert it.WithdrawConsent() in step.intents
    assert chat.consent == {"counsellor": False, "share": False}


@pytest.mark.parametrize("state", STATES)
def test_emergency_from_every_state_shows_the_hotlines(runner: FlowRunner, state: str) -> None:
    step = chat_in(runner, state).say("助けて")
    uris = tel_links(messages_of(step))
    assert uris[:2] == ["tel:119", "tel:110"]


def test_global_keyword_inside_a_sentence(runner: FlowRunner) -> None:
    chat = chat_in(runner, "trouble")
    chat.say("できれば相談員と話したいです")
    assert chat.state == "consent_counsel"


@pytest.mark.parametrize("quick", ["人と話したい", "緊急の連絡先"])
@pytest.mark.parametrize("state", ASKING)
def test_global_quick_replies_under_every_question(runner: FlowRunner, state: str,
                                                   quick: str) -> None:
    assert quick in question_labels(runner, state)


# --------------------------------------------------------------------------- interruptions


@pytest.mark.parametrize("interruption", ["緊急", "やめる"])
@pytest.mark.parametrize("state", INTAKE_STATES)
def test_resume_returns_to_the_state_before(runner: FlowRunner, state: str,
                                            interruption: str) -> None:
    chat = chat_in(runner, state)
    chat.say(interruption)
    assert chat.state in INTERRUPTIONS and chat.answers[RETURN_TO] == state
    step = chat.tap("続きから")
    assert chat.state == state
    assert RETURN_TO not in chat.answers
    assert messages_of(step)


@pytest.mark.parametrize("state", ["who", "areas", "age"])
def test_resume_asks_the_question_again(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    chat.say("やめる")
    step = chat.tap("続きから")
    assert labels(step) == question_labels(runner, state)


def test_typing_in_paused_resumes(runner: FlowRunner) -> None:
    chat = chat_in(runner, "age")
    chat.say("やめる")
    step = chat.say("また話したいです")
    assert chat.state == "age"
    assert texts_of(step)[0] == "おかえりなさい。さっきの続きからお話しします。"


def test_emergency_then_pause_still_resumes_to_the_intake(runner: FlowRunner) -> None:
    chat = chat_in(runner, "municipality")
    chat.say("緊急")
    chat.say("やめる")
    chat.tap("続きから")
    assert chat.state == "municipality"


def test_resume_keeps_the_answers(runner: FlowRunner) -> None:
    chat = chat_in(runner, "urgency")
    chat.tap("今夜寝る場所がない")
    chat.say("緊急")
    chat.tap("続きから")
    assert chat.answers == {**AREAS, "urgent_needs": ["shelter"]}


def test_pausing_keeps_what_was_said_before(runner: FlowRunner) -> None:
    chat = chat_in(runner, "who")
    chat.say("夫が入院して、収入がありません")  # not a choice: kept as a note
    chat.say("やめる")
    chat.tap("続きから")
    assert chat.answers.get(NOTES) == ["夫が入院して、収入がありません"]


# --------------------------------------------------------------------------- other inputs


@pytest.mark.parametrize("state", STATES)
def test_sticker_is_thanked_and_keeps_the_state(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    before = dict(chat.answers)
    step = chat.send(STICKER)
    assert chat.state == state and chat.answers == before
    assert texts_of(step)[0].startswith("送ってくださって、ありがとうございます")
    if state in ASKING:
        assert labels(step) == question_labels(runner, state)


def other_state(state: str) -> str:
    return "contact" if state != "contact" else "age"


@pytest.mark.parametrize("state", STATES)
def test_stale_button_asks_the_current_question_again(runner: FlowRunner, state: str) -> None:
    chat = chat_in(runner, state)
    before = dict(chat.answers)
    step = chat.send(choose(other_state(state), "no_answer"))
    assert chat.state == state and chat.answers == before
    assert texts_of(step)[0] == "前の質問のボタンが押されたようです。いまの質問はこちらです。"
    if state in ASKING:
        assert labels(step) == question_labels(runner, state)


@pytest.mark.parametrize("data", ["", "garbage", "s=who", "v=self", "s=who&v=nope", "g=nope"])
def test_malformed_postback_is_treated_as_stale(runner: FlowRunner, data: str) -> None:
    chat = chat_in(runner, "who")
    step = chat.send(postback(data))
    assert chat.state == "who" and labels(step) == question_labels(runner, "who")


@pytest.mark.parametrize("state", [
    s for s in STATES if s not in ("welcome", "trouble", "paused", "gave_up", "callback_phone",
                                   *LISTENING, *TYPED_NAME)])
def test_free_text_where_a_choice_is_needed_is_noted(runner: FlowRunner, state: str) -> None:
    assert runner.flow.states[state].free_text is None
    chat = chat_in(runner, state)
    step = chat.say("よくわからないです")
    assert chat.state == state
    assert chat.answers[NOTES] == ["よくわからないです"]
    # Thanks, and the question again; no promise that the words reach a counsellor, which
    # is not true for a resident who declined.
    assert "下のボタンから選んでください" in texts_of(step)[0]
    assert "相談員" not in texts_of(step)[0]
    assert labels(step) == question_labels(runner, state)


def test_notes_accumulate(runner: FlowRunner) -> None:
    chat = chat_in(runner, "age")
    chat.say("年齢は")
    chat.say("ちょっと言いたくない")
    assert chat.answers[NOTES] == ["年齢は", "ちょっと言いたくない"]


@pytest.mark.parametrize("kind", ["ignored", "unfollow"])
def test_ignored_and_unfollow_change_nothing(runner: FlowRunner, kind: str) -> None:
    chat = chat_in(runner, "areas")
    step = chat.send(Input(kind))  # type: ignore[arg-type]
    assert step.intents == [] and chat.state == "areas" and chat.answers == WHO


def test_input_of_reads_line_events() -> None:
    assert input_of({"type": "message", "message": {"type": "text", "text": "はい"}}) == \
        Input("text", text="はい")
    assert input_of({"type": "message", "message": {"type": "sticker"}}) == Input("other_message")
    assert input_of({"type": "postback", "postback": {"data": "g=person"}}) == \
        Input("postback", data="g=person")
    assert input_of({"type": "follow"}) == Input("follow")
    assert input_of({"type": "unfollow"}) == Input("unfollow")
    assert input_of({"type": "beacon"}) == Input("ignored")


def test_unknown_state_falls_back_to_the_start(runner: FlowRunner) -> None:
    step = runner.step(Dialogue("removed_in_a_newer_version"), STICKER)
    assert step.state == "welcome"


# --------------------------------------------------------------------------- returning


def test_follow_at_the_start_is_the_welcome(runner: FlowRunner) -> None:
    step = runner.step(Dialogue("welcome"), Input("follow"))
    assert messages_of(step) == messages_of(runner.start())


def test_follow_after_unblocking_welcomes_back(runner: FlowRunner) -> None:
    step = chat_in(runner, "age").send(Input("follow"))
    assert step.state == "age"
    assert labels(step) == ["続きから", "最初から"]


def test_returning_after_idle_hours_is_welcomed_back(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    step = chat.say("こんにちは", idle_for=LONG_AWAY)
    assert chat.state == "areas"
    assert texts_of(step)[0].startswith("おかえりなさい")
    assert labels(step) == ["続きから", "最初から"]
    assert chat.answers[NOTES] == ["こんにちは"]


def test_continuing_after_idle_asks_where_they_were(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.say("こんにちは", idle_for=LONG_AWAY)
    step = chat.tap("続きから")
    assert chat.state == "areas" and chat.answers["consulting_for"] == "self"
    assert labels(step) == question_labels(runner, "areas")


def test_starting_over_after_idle_clears_and_switches_version(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.say("こんにちは", idle_for=LONG_AWAY)
    step = chat.tap("最初から")
    assert chat.state == "welcome" and chat.answers == {}
    assert it.SwitchToCurrentVersion() in step.intents
    assert labels(step) == question_labels(runner, "welcome")


def test_a_short_absence_is_just_the_next_answer(runner: FlowRunner) -> None:
    chat = chat_in(runner, "age")
    chat.say("40代", idle_for=LONG_AWAY / 5)
    assert chat.state == "contact" and chat.answers["age_band"] == "forties"


def test_returning_at_a_safe_point_is_not_interrupted(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    step = chat.say("まだ返事がありません", idle_for=LONG_AWAY)
    assert intents_of(step, it.ForwardToCase) == [it.ForwardToCase("まだ返事がありません")]


def test_a_global_after_idle_hours_still_works(runner: FlowRunner) -> None:
    chat = chat_in(runner, "areas")
    chat.say("緊急", idle_for=LONG_AWAY)
    assert chat.state == "emergency"


# --------------------------------------------------------------------------- handoff


def test_text_in_handoff_is_forwarded_and_stays(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    words = "明日の午前なら電話に出られます"
    step = chat.say(words)
    assert chat.state == "handoff"
    assert intents_of(step, it.ForwardToCase) == [it.ForwardToCase(words)]
    assert intents_of(step, it.OpenCase) == []
    assert texts_of(step) == ["受け取りました。相談員にお伝えします。"]


def test_text_in_handoff_is_forwarded_verbatim(runner: FlowRunner) -> None:
    raw = "　３０代です！！　"
    step = chat_in(runner, "handoff").say(raw)
    assert intents_of(step, it.ForwardToCase) == [it.ForwardToCase(raw)]


def test_person_in_handoff_stays_in_handoff(runner: FlowRunner) -> None:
    chat = chat_in(runner, "handoff")
    chat.send(postback("g=person"))
    assert chat.state == "handoff"


def test_message_in_handoff_mentioning_a_counsellor_is_forwarded(runner: FlowRunner) -> None:
    words = "相談員と話したいのですが、いつ連絡をもらえますか"
    step = chat_in(runner, "handoff").say(words)
    assert it.ForwardToCase(words) in step.intents


def test_offered_buttons_carry_choice_data(runner: FlowRunner) -> None:
    data = choice_data("who", "self")
    assert any(a["data"] == data for a in offered(chat_in(runner, "trouble").tap("うまく言えない")))
