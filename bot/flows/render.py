"""What a resident sees of a flow: bubbles, questions and quick replies. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any
from urllib.parse import urlencode

from bot.content.flow import Bubble, Choice, Flow
from bot.content.languages import IDENTITY, Translator
from bot.content.schema import Hotline
from bot.content.texts import CODE_TEXTS
from bot.flows import intents as it
from bot.line import MAX_QUICK_REPLY_ITEMS, call_buttons

# Answer key, for one step only: the ids of the numbers an emergency interruption chose for the
# danger, most urgent first (bot/flows/emergency.py). Without it a state shows the general ones.
CONTACTS = "_contacts"
# Answer key: the options a typed name could be (bot/flows/places_match.py), best first, while
# the resident is asked which one; an ask offers them with `within: _candidates`.
CANDIDATES = "_candidates"


@dataclass(frozen=True)
class FlowContext:
    """What a flow draws on besides its own file: hotlines, option lists, copy variables."""

    hotlines: list[Hotline]  # every number; a state shows the general ones or the chosen ones
    option_sets: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    variables: Callable[[Mapping[str, Any]], Mapping[str, str]] = lambda answers: {}
    tr: Translator = IDENTITY  # the resident's language, for the words the code adds
    # Each option set's areas: area value -> the values of its options in that area.
    option_groups: Mapping[str, Mapping[str, list[str]]] = field(default_factory=dict)
    # (option set, typed words) -> the values of the options they name, best first.
    match: Callable[[str, str], list[str]] = lambda options, text: []


def choice_data(state: str, value: str) -> str:
    return urlencode({"s": state, "v": value})


def global_data(name: str) -> str:
    return urlencode({"g": name})


class Renderer:
    """Renders one flow's states with the deployment's content."""

    def __init__(self, flow: Flow, context: FlowContext) -> None:
        self.flow = flow
        self.context = context

    def _vars(self, answers: Mapping[str, Any]) -> dict[str, str]:
        return dict(self.context.variables(answers))

    def _bubbles(self, bubbles: list[Bubble], answers: Mapping[str, Any]) -> list[str]:
        variables = self._vars(answers)
        shown = []
        for bubble in bubbles:
            if all(_answer_in(answers.get(key), values) for key, values in bubble.when.items()) \
                    and all(variables.get(n) for n in bubble.needs) \
                    and not any(variables.get(n) for n in bubble.unless):
                shown.append(fill(bubble.text, variables))
        return shown

    def room(self, state_name: str) -> int:
        """How many options fit beside the state's own choices and the global buttons."""
        ask = self.flow.states[state_name].ask
        fixed = len(ask.choices) + (1 if ask and ask.done else 0) if ask else 0
        commands = sum(1 for g in self.flow.globals.values() if g.quick_reply)
        return MAX_QUICK_REPLY_ITEMS - fixed - commands

    def options_of(self, state_name: str, answers: Mapping[str, Any]) -> list[Choice]:
        """The choices filled from content: the options (those `within` the answer it names),
        or their areas when the options do not fit in one quick reply."""
        ask = self.flow.states[state_name].ask
        if ask is None or not ask.choices_from:
            return []
        listed = self.context.option_sets.get(ask.choices_from, [])
        groups = self.context.option_groups.get(ask.choices_from, {})
        if ask.within is not None:
            scope = answers.get(ask.within)
            if isinstance(scope, list):  # these very options, in this order
                labels = dict(listed)
                listed = [(v, labels[v]) for v in scope if v in labels]
            else:
                inside = set(groups.get(str(scope), []))
                listed = [(v, label) for v, label in listed if v in inside]
        elif ask.areas is not None and len(listed) > self.room(state_name):
            return [Choice(label=label, value=value, next=ask.areas.next,
                           record=ask.areas.record)
                    for value, label in self.context.option_sets.get(ask.areas.choices_from, [])
                    if groups.get(value)]
        return [Choice(label=label, value=value, next=None) for value, label in listed]

    def choices_of(self, state_name: str,
                   answers: Mapping[str, Any] | None = None) -> list[Choice]:
        ask = self.flow.states[state_name].ask
        if ask is None:
            return []
        options = self.options_of(state_name, answers or {})
        done = [ask.done] if ask.done else []
        return [*ask.choices, *options, *done]

    def quick_replies(self, state_name: str,
                      answers: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        items = [
            postback_action(c.label, choice_data(state_name, c.value))
            for c in self.choices_of(state_name, answers)
        ]
        commands = [postback_action(glob.label, global_data(gname))
                    for gname, glob in self.flow.globals.items() if glob.quick_reply]
        if self.flow.states[state_name].globals_first:
            items = [*commands, *items]
        else:  # the state's own choices are never crowded out by the commands
            items += commands[:max(0, MAX_QUICK_REPLY_ITEMS - len(items))]
        return [{"type": "action", "action": a} for a in items[:MAX_QUICK_REPLY_ITEMS]]

    def contacts(self, answers: Mapping[str, Any]) -> list[Hotline]:
        """The numbers to show: those chosen for the danger (`CONTACTS`), else the general ones."""
        by_id = {h.id: h for h in self.context.hotlines}
        chosen = [by_id[i] for i in answers.get(CONTACTS) or [] if i in by_id]
        return chosen or [h for h in self.context.hotlines if h.general] or \
            list(self.context.hotlines)

    def question(self, state_name: str, answers: Mapping[str, Any]) -> list[it.Message]:
        """The state's question with its quick replies (empty if the state asks nothing)."""
        state = self.flow.states[state_name]
        ask = state.ask
        texts = self._bubbles(ask.text, answers) if ask else []
        if ask and ask.multi and ask.record and answers.get(ask.record):
            chosen = [c.label for c in self.choices_of(state_name, answers)
                      if c.value in answers[ask.record]]
            tr = self.context.tr
            so_far = tr(CODE_TEXTS["chosen"]).format(
                chosen=tr(CODE_TEXTS["list_separator"]).join(chosen))
            texts = [*texts[:-1], f"{texts[-1]}\n{so_far}"] if texts else texts
        if not texts:
            return []
        messages: list[it.Message] = [{"type": "text", "text": t} for t in texts]
        items = self.quick_replies(state_name, answers)
        if items:
            messages[-1]["quickReply"] = {"items": items}
        return messages

    def say(self, state_name: str, answers: Mapping[str, Any]) -> list[it.Message]:
        """The state's own bubbles, without its question."""
        state = self.flow.states[state_name]
        messages: list[it.Message] = [
            {"type": "text", "text": t} for t in self._bubbles(state.say, answers)
        ]
        if state.emergency_contacts and messages:
            last = messages.pop()
            messages.append(call_buttons(last["text"], self.contacts(answers)))
        return messages

    def entry(self, state_name: str, answers: Mapping[str, Any]) -> list[it.Message]:
        """Everything a resident sees on arriving in a state."""
        return self.say(state_name, answers) + self.question(state_name, answers)

    def _plain(self, bubbles: list[Bubble], answers: Mapping[str, Any]) -> list[it.Message]:
        return [{"type": "text", "text": t} for t in self._bubbles(bubbles, answers)]

    # ------------------------------------------------------------------ stepping

def postback_action(label: str, data: str) -> dict[str, Any]:
    return {"type": "postback", "label": label, "data": data, "displayText": label}


def _answer_in(answer: Any, values: list[str]) -> bool:
    if isinstance(answer, list):
        return any(a in values for a in answer)
    return answer in values


def fill(text: str, variables: Mapping[str, str]) -> str:
    """Copy with its `{name}`s filled (unknown names left empty)."""
    return text.format_map(_Defaults(variables)) if "{" in text else text


class _Defaults(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return ""


def placeholders(text: str) -> set[str]:
    """The `{name}`s in copy ("" for a bare `{}`).

    Raises:
        ValueError: a lone brace, which str.format cannot read.
    """
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}
