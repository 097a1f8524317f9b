"""Whatever a resident sends, in whatever order, the intake answers within LINE's limits, stays
in a known state, and the way to a person stays open."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from line_emulator.validation import validate_messages

from bot.flows.engine import Dialogue, FlowRunner, Input, Step, choice_data, global_data
from bot.line import MAX_MESSAGES

from .helpers import DIALOGUES, LONG_AWAY, Message, messages_of, quick_replies

MAX_STEPS = 40
PERSON = "人と話したい"
SILENT = ("unfollow", "ignored")  # the only inputs that may go unanswered


def vocabulary(runner: FlowRunner) -> list[str]:
    """Words a resident might type: every label and keyword the flow knows, and oddities."""
    flow = runner.flow
    words = [c.label for state in flow.states for c in runner.choices_of(state)]
    for glob in flow.globals.values():
        words += [glob.label, *glob.keywords, *glob.contains]
    words += [flow.messages.resume_label, flow.messages.restart_label]
    return [
        *sorted(set(words)),
        "", " ", "。", "🙏", "😢😢😢", "ｈｅｌｌｏ", "{team_name}", "{}", "%s", "s=who&v=self",
        "友人と話したい", "人と話したいです！", "あ" * 5000, "👍" * 2600,
    ]


def stale_postbacks(runner: FlowRunner) -> list[str]:
    """Buttons from any question of the flow, and data no button ever carried."""
    data = [choice_data(state, c.value) for state in runner.flow.states
            for c in runner.choices_of(state)]
    data += [global_data(name) for name in [*runner.flow.globals, "resume", "restart", "nope"]]
    return [*data, "", "s=", "v=", "s=who&v=self&v=family", "%%%", "g=", "s=nowhere&v=x"]


def resident_inputs(runner: FlowRunner) -> st.SearchStrategy[Input]:
    """Any input but a tap on an offered button: typed words, old buttons, stickers, follows."""
    texts = st.sampled_from(vocabulary(runner)) | st.text(max_size=30)
    return st.one_of(
        texts.map(lambda t: Input("text", text=t)),
        st.sampled_from(stale_postbacks(runner)).map(lambda d: Input("postback", data=d)),
        st.sampled_from([Input("other_message"), Input("follow"), Input("unfollow"),
                         Input("ignored")]),
    )


def tap_or_else(others: st.SearchStrategy[Input],
                offered: list[dict[str, Any]]) -> st.SearchStrategy[Input]:
    """Mostly a tap on one of the quick replies under the last answer, sometimes anything."""
    data = [a["data"] for a in offered if a["type"] == "postback"]
    if not data:
        return others
    taps = st.sampled_from(data).map(lambda d: Input("postback", data=d))
    return st.one_of(taps, taps, others)


def beginnings(runner: FlowRunner) -> st.SearchStrategy[tuple[Dialogue, list[dict[str, Any]]]]:
    """A new conversation, or one already in some state (so short runs reach deep states)."""

    def in_state(state: str) -> tuple[Dialogue, list[dict[str, Any]]]:
        d = copy.deepcopy(DIALOGUES[state])
        seen = runner.question(state, d.answers)
        return d, quick_replies(seen[-1]) if seen else []

    def new() -> tuple[Dialogue, list[dict[str, Any]]]:
        first = runner.start()
        check_answer(runner, Input("follow"), first)
        return Dialogue(first.state, first.answers, first.consent), \
            quick_replies(messages_of(first)[-1])

    return st.one_of(st.just(None).map(lambda _: new()),
                     st.sampled_from(sorted(DIALOGUES)).map(in_state))


def chunks(messages: list[Message]) -> list[list[Message]]:
    size = MAX_MESSAGES
    return [messages[i:i + size] for i in range(0, len(messages), size)]


def check_answer(runner: FlowRunner, inp: Input, step: Step) -> None:
    assert step.state in runner.flow.states
    sent = messages_of(step)
    if inp.kind in SILENT:
        assert sent == []
        return
    assert sent, f"no answer to {inp} in {step.state}"
    for chunk in chunks(sent):
        assert validate_messages(chunk) == [], (inp, step.state, chunk)
    if runner.flow.states[step.state].ask is not None:
        assert quick_replies(sent[-1]), f"no quick replies after {inp} in {step.state}"


def check_person_reachable(runner: FlowRunner, d: Dialogue) -> None:
    step = runner.step(d, Input("text", text=PERSON))
    expected = "handoff" if d.consent.get("counsellor") else "consent_counsel"
    assert step.state == expected, (d.state, d.consent)
    assert messages_of(step)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_sequence_of_inputs_is_answered_within_lines_limits(
        runner: FlowRunner, data: st.DataObject) -> None:
    d, offered = data.draw(beginnings(runner), label="beginning")
    others = resident_inputs(runner)
    for _ in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
        inp = data.draw(tap_or_else(others, offered), label="input")
        idle: timedelta | None = data.draw(st.sampled_from([None, None, None, LONG_AWAY]),
                                           label="idle_for")
        step = runner.step(d, inp, idle_for=idle)
        check_answer(runner, inp, step)
        event(f"reached {step.state}")
        d = Dialogue(step.state, step.answers, step.consent)
        check_person_reachable(runner, d)
        sent = messages_of(step)
        if sent:
            offered = quick_replies(sent[-1])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_tapping_offered_buttons_only_always_gets_somewhere(
        runner: FlowRunner, data: st.DataObject) -> None:
    """A resident who only ever taps buttons is never told a button is stale."""
    d, offered = data.draw(beginnings(runner), label="beginning")
    stale = runner.flow.messages.stale_button[0].text
    for _ in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
        if not offered:
            break
        tap = data.draw(st.sampled_from(offered), label="tap")
        step = runner.step(d, Input("postback", data=tap["data"]))
        sent = messages_of(step)
        assert sent and all(m.get("text") != stale for m in sent), (d.state, tap)
        d = Dialogue(step.state, step.answers, step.consent)
        offered = quick_replies(sent[-1])
