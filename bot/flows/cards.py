"""The intake as cards, for administrators who edit it in forms instead of YAML.

A card is one state: its bubbles, its question, its choices and where each leads. Cards come
in flow order (from the start, as a resident meets them). A card's form is applied to the
flow file through `YamlDocument`, so the published diff shows the edited lines and nothing
else. Whether the edited flow still works (no dead end, no unreachable state) is the loader's
check, run by the caller before anything is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.content.flow import Bubble, Choice, Flow, State
from bot.content.ids import identifier
from bot.content.yamledit import YamlDocument
from bot.flows.validate import targets


@dataclass(frozen=True)
class BubbleField:
    index: int
    text: str
    conditional: bool  # shown only to some residents (`when`, `needs`, `unless`)


@dataclass(frozen=True)
class ChoiceField:
    index: int
    label: str
    value: str
    next: str | None  # its own target; None: the question's `next` (or stay, in a multi-select)


@dataclass(frozen=True)
class Card:
    name: str
    summary: str  # the first words a resident reads here, to recognise the state by
    say: list[BubbleField]
    ask_text: list[BubbleField]
    choices: list[ChoiceField]
    done: ChoiceField | None  # 「選び終わった」 of a multi-select
    multi: bool
    ask_next: str | None
    options_from: str | None  # buttons filled from the places (towns, areas, teams)
    free_next: str | None
    takes_free_text: bool
    leads_to: list[str]
    reached_from: list[str]
    interruption: bool
    removable: bool  # nothing leads here: not the start, no command's, no choice's target


def _bubbles(bubbles: Sequence[Bubble]) -> list[BubbleField]:
    return [BubbleField(i, b.text, bool(b.when or b.needs or b.unless))
            for i, b in enumerate(bubbles)]


def _choice(i: int, c: Choice) -> ChoiceField:
    return ChoiceField(i, c.label, c.value, c.next)


def summary(state: State) -> str:
    texts = [b.text for b in state.say] + ([b.text for b in state.ask.text] if state.ask else [])
    first = next((t for t in texts if t.strip()), "")
    line = first.strip().splitlines()[0] if first.strip() else ""
    return line if len(line) <= 40 else line[:39] + "…"


def order(flow: Flow) -> list[str]:
    """The states as a resident meets them: from the start, each state's targets in the order
    its choices list them; then the states reached only by the global commands."""
    seen: list[str] = []

    def visit(name: str) -> None:
        queue = [name]
        while queue:
            here = queue.pop(0)
            if here in seen or here not in flow.states:
                continue
            seen.append(here)
            queue.extend(_targets_in_order(flow, here))

    visit(flow.start)
    for g in flow.globals.values():
        visit(g.target)
        if g.target_if_consented:
            visit(g.target_if_consented)
    seen += [name for name in flow.states if name not in seen]
    return seen


def _targets_in_order(flow: Flow, name: str) -> list[str]:
    state = flow.states[name]
    found: list[str | None] = []
    if state.ask:
        found += [c.next for c in state.ask.choices]
        found += [state.ask.done.next if state.ask.done else None, state.ask.next]
        found += [state.ask.areas.next if state.ask.areas else None]
        if state.ask.typed:
            found += [state.ask.typed.several,
                      state.ask.typed.unknown.next if state.ask.typed.unknown else None]
    if state.free_text:
        found.append(state.free_text.next)
    unordered = targets(flow, name)
    return [t for t in dict.fromkeys(found) if t in unordered]


def cards(flow: Flow) -> list[Card]:
    names = order(flow)
    sources: dict[str, list[str]] = {n: [] for n in names}
    for name in names:
        for target in _targets_in_order(flow, name):
            if name not in sources[target]:
                sources[target].append(name)
    return [card(flow, name, sources[name]) for name in names]


def card(flow: Flow, name: str, reached_from: list[str] | None = None) -> Card:
    state = flow.states[name]
    ask = state.ask
    return Card(
        name=name, summary=summary(state), say=_bubbles(state.say),
        ask_text=_bubbles(ask.text) if ask else [],
        choices=[_choice(i, c) for i, c in enumerate(ask.choices)] if ask else [],
        done=_choice(len(ask.choices), ask.done) if ask and ask.done else None,
        multi=bool(ask and ask.multi), ask_next=ask.next if ask else None,
        options_from=ask.choices_from if ask else None,
        free_next=state.free_text.next if state.free_text else None,
        takes_free_text=state.free_text is not None,
        leads_to=_targets_in_order(flow, name),
        reached_from=reached_from if reached_from is not None else [
            n for n in order(flow) if name in targets(flow, n)],
        interruption=state.interruption,
        removable=removable(flow, name))


# ---------------------------------------------------------------------- editing


@dataclass(frozen=True)
class ChoiceEdit:
    label: str
    next: str  # "" : none of its own
    remove: bool = False


@dataclass(frozen=True)
class CardEdit:
    """What a card's form sends: each existing bubble's text ("" with `remove` drops it), one
    new bubble, each choice's label and target, one new choice, and an optional move."""

    say: list[tuple[str, bool]] = field(default_factory=list)  # (text, remove)
    new_say: str = ""
    ask_text: list[tuple[str, bool]] = field(default_factory=list)
    new_ask_text: str = ""
    choices: list[ChoiceEdit] = field(default_factory=list)
    new_choice: ChoiceEdit | None = None
    move: tuple[int, int] | None = None  # (choice index, -1 up or +1 down)
    free_next: str | None = None  # None: unchanged
    done: ChoiceEdit | None = None  # a multi-select's 「選び終わった」; None: unchanged


class CardError(ValueError):
    """The form does not fit the card it was made for (the flow changed meanwhile)."""


def apply(text: str, name: str, edit: CardEdit) -> str:
    """The flow file's text with one card's form applied."""
    doc = YamlDocument(text)
    state: dict[str, Any] = doc.plain(("states", name))
    ask: dict[str, Any] = state.get("ask") or {}
    _bubble_edits(doc, ("states", name, "say"), state.get("say") or [], edit.say, edit.new_say)
    if ask:
        _bubble_edits(doc, ("states", name, "ask", "text"), ask.get("text") or [],
                      edit.ask_text, edit.new_ask_text)
    _choice_edits(doc, name, ask, edit)
    if edit.done is not None and ask.get("done"):
        path = ("states", name, "ask", "done")
        doc.set((*path, "label"), edit.done.label.strip())
        if edit.done.next:
            doc.set((*path, "next"), edit.done.next)
        elif "next" in ask["done"]:
            doc.remove((*path, "next"))
    if edit.free_next is not None and "free_text" in state:
        path = ("states", name, "free_text", "next")
        if edit.free_next:
            doc.set(path, edit.free_next)
        elif "next" in state["free_text"]:
            doc.remove(path)
    return doc.text


def _bubble_edits(doc: YamlDocument, path: tuple[str, ...], now: list[dict[str, Any]],
                  edits: list[tuple[str, bool]], new: str) -> None:
    if edits and len(edits) != len(now):
        raise CardError("the bubbles changed meanwhile")
    for i, (words, remove) in enumerate(edits):
        if not remove and _lines(words) != _lines(str(now[i].get("text", ""))):
            doc.set((*path, i, "text"), _lines(words))
    for i in sorted((i for i, (_, remove) in enumerate(edits) if remove), reverse=True):
        doc.remove((*path, i))
    if new.strip():
        left = len(now) - sum(1 for _, remove in edits if remove)
        if left or now:
            doc.insert(path, left, {"text": _lines(new)})
        else:
            doc.set(path, [{"text": _lines(new)}])


def _choice_edits(doc: YamlDocument, name: str, ask: dict[str, Any], edit: CardEdit) -> None:
    now: list[dict[str, Any]] = ask.get("choices") or []
    path = ("states", name, "ask", "choices")
    if edit.choices and len(edit.choices) != len(now):
        raise CardError("the choices changed meanwhile")
    for i, c in enumerate(edit.choices):
        if c.remove:
            continue
        doc.set((*path, i, "label"), c.label.strip())
        if c.next:
            doc.set((*path, i, "next"), c.next)
        elif "next" in now[i]:
            doc.remove((*path, i, "next"))
    removed = [i for i, c in enumerate(edit.choices) if c.remove]
    if edit.move is not None:
        i, step = edit.move
        j = i + step
        if 0 <= i < len(now) and 0 <= j < len(now) and i not in removed and j not in removed:
            doc.move(path, i, j)
            removed = [j if r == i else i if r == j else r for r in removed]
    for i in sorted(removed, reverse=True):
        doc.remove((*path, i))
    if edit.new_choice and edit.new_choice.label.strip():
        if not ask:
            raise CardError("this state asks no question")
        taken = {c.get("value") for c in now} | {(ask.get("done") or {}).get("value")}
        added: dict[str, Any] = {"label": edit.new_choice.label.strip(),
                                 "value": identifier(edit.new_choice.label, taken, "choice")}
        if edit.new_choice.next:
            added["next"] = edit.new_choice.next
        left = len(now) - len(removed)
        if now:
            doc.insert(path, left, added)
        else:
            doc.set(path, [added])


def _lines(words: str) -> str:
    """A textarea's words as the file keeps them: LF line ends, no trailing blanks."""
    return "\n".join(line.rstrip() for line in words.replace("\r\n", "\n").strip().split("\n"))


def add_state(text: str, *, question: str, choices: list[ChoiceEdit], from_state: str,
              entry_label: str) -> tuple[str, str]:
    """The flow file with a new question and a new choice of `from_state` that leads to it (a
    question nothing leads to would be unreachable); returns (text, the new state's name)."""
    doc = YamlDocument(text)
    states: dict[str, Any] = doc.plain(("states",))
    if from_state not in states or not (states[from_state].get("ask") or {}):
        raise CardError("the question to come from asks nothing")
    name = identifier(question, set(states), "question")
    taken: set[Any] = set()
    made = []
    for c in choices:
        if not c.label.strip():
            continue
        value = identifier(c.label, taken, "choice")
        taken.add(value)
        made.append({"label": c.label.strip(), "value": value,
                     **({"next": c.next} if c.next else {})})
    doc.set(("states", name), {"ask": {"text": [{"text": _lines(question)}], "choices": made}})
    entry = _entry(states[from_state], entry_label, name)
    path = ("states", from_state, "ask", "choices")
    now = states[from_state]["ask"].get("choices") or []
    if now:
        doc.insert(path, len(now), entry)
    else:
        doc.set(path, [entry])
    return doc.text, name


def _entry(state: dict[str, Any], label: str, target: str) -> dict[str, Any]:
    ask = state.get("ask") or {}
    taken = {c.get("value") for c in ask.get("choices") or []} | \
        {(ask.get("done") or {}).get("value")}
    return {"label": label.strip(), "value": identifier(label, taken, "choice"), "next": target}


def remove_state(text: str, flow: Flow, name: str) -> str:
    """The flow file without the question `name` and the choices that lead to it; refused when
    anything else leads there (the start, a command, a question's own `next`)."""
    if not removable(flow, name):
        raise CardError("something other than a choice leads here")
    doc = YamlDocument(text)
    for source, indexes in _leading_choices(flow, name).items():
        for i in sorted(indexes, reverse=True):
            doc.remove(("states", source, "ask", "choices", i))
    doc.remove(("states", name))
    return doc.text


def _leading_choices(flow: Flow, name: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for source, state in flow.states.items():
        if source != name and state.ask:
            hits = [i for i, c in enumerate(state.ask.choices) if c.next == name]
            if hits:
                found[source] = hits
    return found


def leading_choices(flow: Flow, name: str) -> list[tuple[str, str]]:
    """(question, label) of each choice that leads to `name`: they go with it."""
    found = []
    for source, hits in _leading_choices(flow, name).items():
        ask = flow.states[source].ask
        if ask is not None:
            found += [(source, ask.choices[i].label) for i in hits]
    return found


def removable(flow: Flow, name: str) -> bool:
    """Only choices lead here: not the start, no command's target, no question's `next`,
    free text, 「選び終わった」 or typed answer."""
    if name == flow.start or any(name in (g.target, g.target_if_consented)
                                 for g in flow.globals.values()):
        return False
    for source, state in flow.states.items():
        if source == name:
            continue
        ask = state.ask
        others = [state.free_text.next if state.free_text else None]
        if ask:
            others += [ask.next, ask.done.next if ask.done else None,
                       ask.areas.next if ask.areas else None]
            if ask.typed:
                others += [ask.typed.several,
                           ask.typed.unknown.next if ask.typed.unknown else None]
        if name in others:
            return False
    return True
