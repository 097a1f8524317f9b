"""`check_flow` and the flow schema: the shipped intake is clean, and each kind of broken flow is
reported precisely, naming the file and the state to fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.content.flow import Flow
from bot.flows.routing import COPY_VARIABLES, option_sets
from bot.flows.validate import REQUIRED_GLOBALS, Problem, check_flow
from bot.releases.load import Content

FILE = "content/flows/mini.yaml"
OPTION_SETS = {"municipalities": 5, "teams": 3}

FlowDict = dict[str, Any]


def mini_flow() -> FlowDict:
    """The smallest valid flow: a question, a choice between two answers, a listening end
    state, an interruption to come back from, and the five required globals."""

    def glob(label: str, target: str, **extra: Any) -> dict[str, Any]:
        return {"label": label, "target": target, "keywords": [label], **extra}

    return {
        "id": "mini",
        "start": "first",
        "globals": {
            "person": glob("人と話したい", "last", quick_reply=True),
            "emergency": glob("緊急の連絡先", "help", quick_reply=True),
            "pause": glob("やめる", "help"),
            "restart": glob("最初から", "first", effects=["clear_answers"]),
            "withdraw": glob("同意を取り消す", "last", effects=["withdraw_consent"]),
        },
        "messages": {
            "non_text": [{"text": "ありがとうございます。"}],
            "not_a_choice": [{"text": "下から選んでください。"}],
            "stale_button": [{"text": "いまの質問はこちらです。"}],
            "welcome_back": [{"text": "おかえりなさい。"}],
            "resume_label": "続きから",
            "restart_label": "最初から",
        },
        "states": {
            "first": {
                "say": [{"text": "こんにちは。"}],
                "ask": {"text": [{"text": "はじめますか。"}],
                        "choices": [{"label": "はじめる", "value": "start", "next": "middle"}]},
            },
            "middle": {
                "ask": {"text": [{"text": "どちらですか。"}], "record": "pick", "next": "last",
                        "choices": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
            },
            "last": {
                "say": [{"text": "ありがとうございました。"}],
                "free_text": {"say": [{"text": "受け取りました。"}]},
            },
            "help": {
                "interruption": True,
                "say": [{"text": "急ぐときは電話してください。"}],
                "ask": {"text": [{"text": "落ち着いたら続けられます。"}],
                        "choices": [{"label": "続きから", "value": "resume", "next": "$resume"}]},
            },
        },
    }


def choices(n: int, prefix: str = "c") -> list[dict[str, str]]:
    return [{"label": f"選択肢{i}", "value": f"{prefix}{i}"} for i in range(n)]


def problems_of(data: FlowDict, *, sets: dict[str, int] | None = None) -> list[Problem]:
    return check_flow(Flow.model_validate(data), file=FILE,
                      option_sets=OPTION_SETS if sets is None else sets,
                      variables=COPY_VARIABLES)


def only_problem(data: FlowDict, **kwargs: Any) -> Problem:
    found = problems_of(data, **kwargs)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def assert_reported(found: list[Problem], state: str | None, *fragments: str) -> None:
    """Some problem names this state (and the file) and says every fragment."""
    matching = [p for p in found if p.state == state and all(f in p.message for f in fragments)]
    assert matching, f"no problem in state {state!r} saying {fragments}: {[str(p) for p in found]}"
    assert str(matching[0]).startswith(f"{FILE}: ")
    if state is not None:
        assert f"state '{state}'" in str(matching[0])


def mutated(change: Callable[[FlowDict], object]) -> FlowDict:
    data = mini_flow()
    change(data)
    return data


# --------------------------------------------------------------------------- valid flows


def test_shipped_intake_has_no_problems(content: Content) -> None:
    loaded = content.flows["intake"]
    counts = {name: len(options) for name, options in option_sets(content.places).items()}
    found = check_flow(loaded.flow, file=loaded.file, option_sets=counts,
                       variables=COPY_VARIABLES)
    assert found == [], [str(p) for p in found]


def test_minimal_flow_has_no_problems() -> None:
    assert problems_of(mini_flow()) == []


def test_problem_names_file_and_state() -> None:
    assert str(Problem(FILE, "middle", "broken")) == f"{FILE}: state 'middle': broken"
    assert str(Problem(FILE, None, "broken")) == f"{FILE}: broken"


# --------------------------------------------------------------------------- targets


def test_unknown_choice_target() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][0].update(next="nowhere"))
    problem = only_problem(data)
    assert problem.state == "middle"
    assert "choice 'a'" in problem.message and "unknown target state 'nowhere'" in problem.message


def test_unknown_ask_next() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(next="nowhere"))
    found = problems_of(data)
    assert_reported(found, "middle", "ask.next", "unknown target state 'nowhere'")
    assert {p.state for p in found} == {"middle"}


def test_unknown_free_text_target() -> None:
    data = mutated(lambda d: d["states"]["last"]["free_text"].update(next="nowhere"))
    problem = only_problem(data)
    assert problem.state == "last"
    assert "free_text.next" in problem.message and "'nowhere'" in problem.message


def test_unknown_global_target() -> None:
    data = mutated(lambda d: d["globals"]["withdraw"].update(target="nowhere"))
    problem = only_problem(data)
    assert problem.state is None
    assert "global 'withdraw'" in problem.message and "'nowhere'" in problem.message


def test_unknown_global_target_if_consented() -> None:
    data = mutated(lambda d: d["globals"]["person"].update(target_if_consented="nowhere"))
    assert "global 'person'" in only_problem(data).message


def test_unknown_target_in_the_shipped_intake(content: Content) -> None:
    data = copy.deepcopy(content.flows["intake"].definition)
    data["states"]["who"]["ask"]["next"] = "aeras"
    counts = {name: len(options) for name, options in option_sets(content.places).items()}
    found = check_flow(Flow.model_validate(data), file=FILE, option_sets=counts,
                       variables=COPY_VARIABLES)
    assert_reported(found, "who", "unknown target state 'aeras'")
    # `areas` is now out of reach, and so is every state only it leads to.
    assert_reported(found, "areas", "unreachable")


# --------------------------------------------------------------------------- reachability


def test_unreachable_state() -> None:
    data = mutated(lambda d: d["states"].update(
        orphan={"say": [{"text": "だれも来ない"}], "free_text": {}}))
    problem = only_problem(data)
    assert problem.state == "orphan" and "unreachable" in problem.message


def test_state_reached_only_through_a_global_is_reachable() -> None:
    # `help` is only reached through the emergency and pause globals.
    assert problems_of(mini_flow()) == []


def test_state_with_no_way_out() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["ask"]["choices"][1]["next"] = "dead_end"
        d["states"]["dead_end"] = {"say": [{"text": "おしまい"}]}

    problem = only_problem(mutated(change))
    assert problem.state == "dead_end" and "no way out" in problem.message


def test_ask_without_choices_and_without_free_text() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(choices=[]))
    assert_reported(problems_of(data), "middle", "no choices")


def test_choice_leading_nowhere() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].pop("next"))
    found = problems_of(data)
    assert_reported(found, "middle", "choice 'a' leads nowhere")
    assert_reported(found, "middle", "choice 'b' leads nowhere")


# --------------------------------------------------------------------------- copy


def test_state_showing_nothing() -> None:
    data = mutated(lambda d: d["states"]["last"].pop("say"))
    problem = only_problem(data)
    assert problem.state == "last" and "missing message text" in problem.message


def test_blank_bubble() -> None:
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": "  "}))
    problem = only_problem(data)
    assert problem.state == "last" and "say: a bubble has no text" in problem.message


def test_ask_without_text() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["say"] = [{"text": "つぎの質問です。"}]
        d["states"]["middle"]["ask"]["text"] = []

    problem = only_problem(mutated(change))
    assert problem.state == "middle" and "ask has no text" in problem.message


def test_ask_without_text_and_without_say() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(text=[]))
    found = problems_of(data)
    assert_reported(found, "middle", "ask has no text")
    assert_reported(found, "middle", "missing message text")


def test_bubble_longer_than_line_allows() -> None:
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": "あ" * 5001}))
    assert "5000" in only_problem(data).message


def test_unknown_placeholder() -> None:
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": "{nickname}さん"}))
    problem = only_problem(data)
    assert problem.state == "last" and "unknown placeholder {nickname}" in problem.message


def test_known_placeholders_are_fine() -> None:
    known = "".join(f"{{{name}}}" for name in COPY_VARIABLES)
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": known}))
    assert problems_of(data) == []


def test_unknown_placeholder_in_engine_messages() -> None:
    data = mutated(lambda d: d["messages"]["welcome_back"].append({"text": "{nickname}"}))
    problem = only_problem(data)
    assert problem.state is None
    assert "messages.welcome_back" in problem.message and "{nickname}" in problem.message


def test_positional_placeholder_is_reported() -> None:
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": "記号 {} です"}))
    assert_reported(problems_of(data), "last", "placeholder")


def test_lone_brace_is_reported_not_raised() -> None:
    data = mutated(lambda d: d["states"]["last"]["say"].append({"text": "顔文字 (^_^}"}))
    assert_reported(problems_of(data), "last")


# --------------------------------------------------------------------------- quick replies


def test_thirteen_quick_replies_with_the_globals_are_fine() -> None:
    # 11 choices + 2 global quick replies = 13, LINE's maximum.
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(choices=choices(11)))
    assert problems_of(data) == []


def test_too_many_quick_replies_counting_the_globals() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(choices=choices(12)))
    problem = only_problem(data)
    assert problem.state == "middle"
    assert "14 quick replies with the global buttons" in problem.message


def test_too_many_choices_counting_options_from_content() -> None:
    def change(d: FlowDict) -> None:
        ask = d["states"]["middle"]["ask"]
        ask.update(choices=choices(3), choices_from="municipalities")

    problem = only_problem(mutated(change), sets={"municipalities": 11})
    assert problem.state == "middle" and "14 choices" in problem.message


def test_multi_select_done_counts_as_a_quick_reply() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["ask"].update(
            choices=choices(11), multi=True, done={"label": "選び終わった", "value": "done"})

    problem = only_problem(mutated(change))
    assert problem.state == "middle" and "14 quick replies" in problem.message


def test_too_many_quick_replies_in_the_shipped_intake(content: Content) -> None:
    data = copy.deepcopy(content.flows["intake"].definition)
    data["states"]["areas"]["ask"]["choices"] += choices(3, prefix="extra")
    counts = {name: len(options) for name, options in option_sets(content.places).items()}
    found = check_flow(Flow.model_validate(data), file=FILE, option_sets=counts,
                       variables=COPY_VARIABLES)
    assert_reported(found, "areas", "14 quick replies")


def test_choice_label_longer_than_twenty_characters() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][0].update(label="あ" * 21))
    problem = only_problem(data)
    assert problem.state == "middle"
    assert "choice 'a'" in problem.message and "longer than LINE's 20" in problem.message


def test_choice_label_of_twenty_characters_is_fine() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][0].update(label="あ" * 20))
    assert problems_of(data) == []


def test_global_label_longer_than_twenty_characters() -> None:
    data = mutated(lambda d: d["globals"]["person"].update(label="あ" * 21))
    problem = only_problem(data)
    assert problem.state is None and "global 'person'" in problem.message


def test_welcome_back_labels_longer_than_twenty_characters() -> None:
    data = mutated(lambda d: d["messages"].update(resume_label="あ" * 21))
    with pytest.raises(ValidationError, match="resume_label"):
        Flow.model_validate(data)


def test_duplicate_choice_values() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][1].update(value="a"))
    problem = only_problem(data)
    assert problem.state == "middle" and "choice value 'a' is used twice" in problem.message


def test_done_value_clashing_with_a_choice() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["ask"].update(
            multi=True, done={"label": "選び終わった", "value": "a"})

    assert_reported(problems_of(mutated(change)), "middle", "'a' is used twice")


# --------------------------------------------------------------------------- ask shapes


def test_multi_select_without_done() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(multi=True))
    problem = only_problem(data)
    assert problem.state == "middle" and "multi-select" in problem.message


def test_multi_select_without_record() -> None:
    def change(d: FlowDict) -> None:
        ask = d["states"]["middle"]["ask"]
        ask.pop("record")
        ask.update(multi=True, done={"label": "選び終わった", "value": "done"})

    problem = only_problem(mutated(change))
    assert problem.state == "middle" and "multi-select" in problem.message


def test_complete_multi_select_is_fine() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(
        multi=True, done={"label": "選び終わった", "value": "done"}))
    assert problems_of(data) == []


def test_choices_from_without_record() -> None:
    def change(d: FlowDict) -> None:
        ask = d["states"]["middle"]["ask"]
        ask.pop("record")
        ask["choices_from"] = "municipalities"

    problem = only_problem(mutated(change))
    assert problem.state == "middle" and "choices_from needs `record`" in problem.message


def test_choices_from_without_next() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(
        choices=[], choices_from="municipalities", next=None))
    problem = only_problem(data)
    assert problem.state == "middle" and "choices_from needs ask.next" in problem.message


def test_choices_from_a_list_the_content_lacks() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"].update(choices_from="teams"))
    problem = only_problem(data, sets={"municipalities": 5})
    assert problem.state == "middle" and "'teams' has no list" in problem.message


# --------------------------------------------------------------------------- $resume


def test_resume_outside_an_interruption_state() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][0].update(next="$resume"))
    problem = only_problem(data)
    assert problem.state == "middle" and "only works in states marked interruption" \
        in problem.message


def test_resume_as_free_text_target_outside_an_interruption_state() -> None:
    data = mutated(lambda d: d["states"]["last"]["free_text"].update(next="$resume"))
    assert "interruption" in only_problem(data).message


def test_resume_as_a_global_target() -> None:
    data = mutated(lambda d: d["globals"]["pause"].update(target="$resume"))
    found = problems_of(data)
    assert_reported(found, None, "global 'pause'", "interruption")


# --------------------------------------------------------------------------- globals


@pytest.mark.parametrize("name", sorted(REQUIRED_GLOBALS))
def test_missing_required_global(name: str) -> None:
    data = mutated(lambda d: d["globals"].pop(name))
    assert_reported(problems_of(data), None, f"global '{name}'", "missing")


def test_global_without_keywords() -> None:
    data = mutated(lambda d: d["globals"]["pause"].update(keywords=[]))
    problem = only_problem(data)
    assert "global 'pause'" in problem.message and "keywords" in problem.message


def test_unknown_start_state() -> None:
    data = mutated(lambda d: d.update(start="begin"))
    assert_reported(problems_of(data), None, "start state 'begin'")


# --------------------------------------------------------------------------- schema


def test_unknown_key_is_refused() -> None:
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"][0].update(nxt="last"))
    with pytest.raises(ValidationError, match="nxt"):
        Flow.model_validate(data)


def test_unknown_key_in_a_state_is_refused() -> None:
    data = mutated(lambda d: d["states"]["last"].update(says=[{"text": "typo"}]))
    with pytest.raises(ValidationError, match="says"):
        Flow.model_validate(data)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "true"])
def test_yaml_boolean_as_a_choice_value_is_refused(word: str) -> None:
    source = f"{{label: はい, value: {word}, next: last}}"
    parsed = yaml.safe_load(source)
    assert isinstance(parsed["value"], bool)  # YAML 1.1: the reason for the check
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"].__setitem__(0, parsed))
    with pytest.raises(ValidationError, match="value"):
        Flow.model_validate(data)


def test_quoted_yaml_word_as_a_choice_value_is_fine() -> None:
    parsed = yaml.safe_load('{label: はい, value: "yes", next: last}')
    data = mutated(lambda d: d["states"]["middle"]["ask"]["choices"].__setitem__(0, parsed))
    assert problems_of(data) == []


def test_unknown_effect_is_refused() -> None:
    data = mutated(lambda d: d["globals"]["restart"].update(effects=["forget_everything"]))
    with pytest.raises(ValidationError, match="effects"):
        Flow.model_validate(data)


# --------------------------------------------------------------------------- many towns


def test_a_bubble_shown_by_an_unknown_variable_is_reported() -> None:
    data = mutated(lambda d: d["states"]["first"]["say"][0].update(needs=["nope"]))
    assert_reported(problems_of(data), "first", "needs/unless", "'nope'")


def test_typed_names_and_areas_lead_to_states_that_exist() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["ask"].update(
            choices_from="municipalities", areas={"next": "by_area"},
            typed={"several": "which", "unknown": {"value": "elsewhere", "next": "last"}})
    found = problems_of(mutated(change), sets={**OPTION_SETS, "areas": 2,
                                               "known_municipalities": 6})
    assert_reported(found, "middle", "areas.next", "'by_area'")
    assert_reported(found, "middle", "typed.several", "'which'")


def test_typed_names_need_somewhere_to_record() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["first"]["ask"]["typed"] = {"several": "middle"}
    found = problems_of(mutated(change), sets={**OPTION_SETS, "known_municipalities": 6})
    assert_reported(found, "first", "typed needs `record`")


def test_the_states_a_typed_name_leads_to_are_reachable() -> None:
    def change(d: FlowDict) -> None:
        d["states"]["middle"]["ask"]["typed"] = {"several": "which"}
        d["states"]["which"] = {"ask": {"text": [{"text": "どれですか。"}], "record": "pick",
                                        "next": "last", "choices_from": "known_municipalities",
                                        "within": "_candidates"}}
    assert problems_of(mutated(change), sets={**OPTION_SETS, "known_municipalities": 6}) == []
