"""Checks a flow before it is ever served. Each problem names the file, the state and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from bot.content.flow import RESUME, Bubble, Flow
from bot.line import (
    MAX_ACTION_DATA,
    MAX_LABEL,
    MAX_QUICK_REPLY_ITEMS,
    MAX_TEXT_UTF16,
    utf16_len,
)

if TYPE_CHECKING:
    from bot.content.schema import Messages, Resources

REQUIRED_GLOBALS = {
    "person": "talk to a person",
    "emergency": "emergency contacts",
    "pause": "stop for now",
    "restart": "start over",
    "withdraw": "withdraw consent",
}


@dataclass(frozen=True)
class Problem:
    file: str
    state: str | None
    message: str
    # Where in the file, as data (the editor shows the line): keys from the top of the file,
    # and the choice of the state a problem is about.
    at: tuple[str, ...] = ()
    choice: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: state '{self.state}'" if self.state else self.file
        return f"{where}: {self.message}"


# The key, after an option set's name, of the most options offered at once `within` an answer
# (an area's towns, or a typed name's candidates): see `bot.flows.routing.option_counts`.
WITHIN = ".within"


def check_flow(
    flow: Flow,
    *,
    file: str,
    option_sets: Mapping[str, int],
    variables: Iterable[str],
) -> list[Problem]:
    """All problems of a flow; empty when it can be served.

    Args:
        flow: the parsed flow.
        file: its file name, for the messages.
        option_sets: how many options each `choices_from` list has in the content.
        variables: the names copy may use as `{name}`.
    """
    from bot.flows.places_match import MAX_CANDIDATES
    from bot.flows.render import CANDIDATES, placeholders  # the renderer's own notions

    known_vars = set(variables)
    problems: list[Problem] = []

    def bad(state: str | None, message: str, *, choice: str | None = None,
            at: tuple[str, ...] = ()) -> None:
        where = at or (("states", state) if state else ())
        problems.append(Problem(file, state, message, where, choice))

    def check_bubbles(state: str | None, where: str, bubbles: list[Bubble], *,
                      at: tuple[str, ...] = ()) -> None:
        for b in bubbles:
            if not b.text.strip():
                bad(state, f"{where}: a bubble has no text", at=at)
            if utf16_len(b.text) > MAX_TEXT_UTF16:
                bad(state, f"{where}: a bubble is longer than LINE's {MAX_TEXT_UTF16} characters",
                    at=at)
            try:
                names = placeholders(b.text)
            except ValueError:
                bad(state, f"{where}: a lone '{{' or '}}' in the copy; write '{{{{' or '}}}}' "
                           "to show a brace", at=at)
                continue
            for name in names - known_vars:
                bad(state, f"{where}: unknown placeholder {{{name}}} "
                           f"(known: {', '.join(sorted(known_vars)) or 'none'})", at=at)
            for name in {*b.needs, *b.unless} - known_vars:
                bad(state, f"{where}: needs/unless names unknown variable '{name}' "
                           f"(known: {', '.join(sorted(known_vars)) or 'none'})", at=at)

    def check_target(state: str | None, where: str, target: str | None, *,
                     may_resume: bool, choice: str | None = None,
                     at: tuple[str, ...] = ()) -> None:
        if target is None:
            return
        if target == RESUME:
            if not may_resume:
                bad(state, f"{where}: '{RESUME}' only works in states marked interruption",
                    choice=choice, at=at)
            return
        if target not in flow.states:
            bad(state, f"{where}: unknown target state '{target}' "
                       f"(states: {', '.join(sorted(flow.states))})", choice=choice, at=at)

    if flow.start not in flow.states:
        bad(None, f"start state '{flow.start}' is not defined")
    for name, purpose in REQUIRED_GLOBALS.items():
        if name not in flow.globals:
            bad(None, f"global '{name}' ({purpose}) is missing: every state must offer it")
    quick_globals = sum(1 for g in flow.globals.values() if g.quick_reply)
    for gname, glob in flow.globals.items():
        check_target(None, f"global '{gname}'", glob.target, may_resume=False,
                     at=("globals", gname))
        check_target(None, f"global '{gname}'", glob.target_if_consented, may_resume=False,
                     at=("globals", gname))
        if len(glob.label) > MAX_LABEL:
            bad(None, f"global '{gname}': label longer than {MAX_LABEL} characters",
                at=("globals", gname))
        if not glob.keywords and not glob.contains:
            bad(None, f"global '{gname}': give keywords so typing it works, not only a button",
                at=("globals", gname))
    for key, bubbles in (("non_text", flow.messages.non_text),
                         ("not_a_choice", flow.messages.not_a_choice),
                         ("stale_button", flow.messages.stale_button),
                         ("welcome_back", flow.messages.welcome_back)):
        if not bubbles:
            bad(None, at=("messages", key), message=f"messages.{key}: needs at least one bubble")
        check_bubbles(None, f"messages.{key}", bubbles, at=("messages", key))

    for name, state in flow.states.items():
        ask = state.ask
        check_bubbles(name, "say", state.say)
        if state.emergency_contacts and not state.say:
            bad(name, "emergency_contacts needs a say bubble to carry the buttons")
        if ask is None and state.free_text is None:
            bad(name, "no way out: give it an ask with choices or a free_text")
        if not state.say and (ask is None or not ask.text):
            bad(name, "missing message text: the resident would see nothing")
        if state.free_text is not None:
            check_target(name, "free_text.next", state.free_text.next,
                         may_resume=state.interruption)
            check_bubbles(name, "free_text.say", state.free_text.say)
        if ask is None:
            continue
        check_bubbles(name, "ask.text", ask.text)
        if not ask.text:
            bad(name, "ask has no text: the question itself is missing")
        options = option_sets.get(ask.choices_from, 0) if ask.choices_from else 0
        if ask.choices_from and ask.choices_from not in option_sets:
            bad(name, f"choices_from '{ask.choices_from}' has no list in the content")
        fixed = len(ask.choices) + (1 if ask.done else 0)
        if ask.within == CANDIDATES:
            options = MAX_CANDIDATES  # a typed name's candidates
        elif ask.within and ask.choices_from:
            options = option_sets.get(f"{ask.choices_from}{WITHIN}", options)  # the largest area
        elif ask.areas and options + fixed + quick_globals > MAX_QUICK_REPLY_ITEMS:
            options = option_sets.get(ask.areas.choices_from, 0)
            if not options:
                bad(name, f"the {ask.choices_from} do not fit in one quick reply and no "
                          f"{ask.areas.choices_from} are listed: give each an area")
        for what, where_to in (("areas", ask.areas), ("typed", ask.typed)):
            if where_to is not None and where_to.choices_from not in option_sets:
                bad(name, f"{what}.choices_from '{where_to.choices_from}' has no list in the "
                          "content")
        if ask.areas:
            check_target(name, "areas.next", ask.areas.next, may_resume=False)
        if ask.typed:
            check_target(name, "typed.several", ask.typed.several, may_resume=False)
            if ask.typed.unknown:
                check_target(name, "typed.unknown", ask.typed.unknown.next, may_resume=False)
            if not ask.record or not ask.next:
                bad(name, "typed needs `record` and ask.next: where a typed name leads")
        choices = [*ask.choices, *([ask.done] if ask.done else [])]
        total = len(choices) + options + quick_globals
        if len(choices) + options > MAX_QUICK_REPLY_ITEMS:
            bad(name, f"{len(choices) + options} choices: LINE shows at most "
                      f"{MAX_QUICK_REPLY_ITEMS} quick replies")
        elif total > MAX_QUICK_REPLY_ITEMS:
            bad(name, f"{total} quick replies with the global buttons: LINE shows at most "
                      f"{MAX_QUICK_REPLY_ITEMS}; remove a choice or a global quick reply")
        if not choices and not options and state.free_text is None:
            bad(name, "ask has no choices and the state takes no free text")
        if ask.multi and (not ask.record or ask.done is None):
            bad(name, "a multi-select ask needs `record` and a `done` choice")
        if ask.choices_from and not ask.record:
            bad(name, "choices_from needs `record`, or the answer is lost")
        values = [c.value for c in choices]
        for dup in {v for v in values if values.count(v) > 1}:
            bad(name, f"choice value '{dup}' is used twice")
        for c in choices:
            if len(c.label) > MAX_LABEL:
                bad(name, f"choice '{c.value}': label '{c.label}' is longer than LINE's "
                          f"{MAX_LABEL} characters", choice=c.value)
            if len(urlencode({"s": name, "v": c.value})) > MAX_ACTION_DATA:
                bad(name, f"choice '{c.value}': postback data over {MAX_ACTION_DATA} characters",
                    choice=c.value)
            target = c.next or (ask.next if not ask.multi or c is ask.done else None)
            check_target(name, f"choice '{c.value}'", target, may_resume=state.interruption,
                         choice=c.value)
            if target is None and not ask.multi:
                bad(name, f"choice '{c.value}' leads nowhere: give it `next` (or the ask a "
                          "`next`)", choice=c.value)
        check_target(name, "ask.next", ask.next, may_resume=state.interruption)
        if ask.choices_from and ask.next is None:
            bad(name, "choices_from needs ask.next: where a chosen option leads")

    if flow.start in flow.states:
        for name in sorted(set(flow.states) - reachable(flow)):
            bad(name, "unreachable: no choice, free text or global leads here")
    return problems


def check_contacts(
    resources: Resources,
    messages: Messages,
    *,
    categories: Mapping[str, str],
    files: tuple[str, str],
    variables: Iterable[str],
) -> list[Problem]:
    """Every risk category has a number to call, and every reference between the numbers, the
    dangers and their first words holds; empty when the emergency replies can be served.

    Args:
        resources: the emergency numbers and dangers (content/resources.yaml).
        messages: the copy outside the flows (content/messages.yaml), for the first words.
        categories: the lexicon's risk categories, name -> label.
        files: the names of the resources file and the messages file, for the messages.
        variables: the names the first words may use as `{name}`.
    """
    from bot.flows.render import placeholders

    resources_file, messages_file = files
    problems: list[Problem] = []

    def bad(message: str, file: str = resources_file, *, at: tuple[str | int, ...] = ()) -> None:
        problems.append(Problem(file, None, message, tuple(str(a) for a in at)))

    known = ", ".join(categories)
    ids = [h.id for h in resources.hotlines]
    for i, hotline in enumerate(resources.hotlines):
        if ids.index(hotline.id) != i:
            bad(f"hotlines.{i}.id: '{hotline.id}' is used by another number",
                at=("hotlines", i, "id"))
        for j, category in enumerate(hotline.categories):
            if category not in categories:
                bad(f"hotlines.{i}.categories.{j}: unknown risk category '{category}' "
                    f"(categories: {known})", at=("hotlines", i, "categories", j))
    served = {c for h in resources.hotlines for c in h.categories}
    for category, label in categories.items():
        if category not in served:
            bad(f"hotlines: no number for the risk category '{category}' ({label}): name it in "
                "the categories of at least one number", at=("hotlines",))
    if not resources.general():
        bad("hotlines: no number has `general: true`: the 「緊急」 button shows those when the "
            "danger is not known", at=("hotlines",))

    owner: dict[str, str] = {}
    danger_ids = [d.id for d in resources.dangers]
    for i, danger in enumerate(resources.dangers):
        if danger_ids.index(danger.id) != i:
            bad(f"dangers.{i}.id: '{danger.id}' is used by another danger",
                at=("dangers", i, "id"))
        for j, category in enumerate(danger.categories):
            if category not in categories:
                bad(f"dangers.{i}.categories.{j}: unknown risk category '{category}' "
                    f"(categories: {known})", at=("dangers", i, "categories", j))
            elif category in owner:
                bad(f"dangers.{i}.categories.{j}: '{category}' is already in the danger "
                    f"'{owner[category]}'", at=("dangers", i, "categories", j))
            else:
                owner[category] = danger.id
        for j, hotline_id in enumerate(danger.first):
            if hotline_id not in ids:
                bad(f"dangers.{i}.first.{j}: unknown number '{hotline_id}' "
                    f"(hotlines: {', '.join(ids)})", at=("dangers", i, "first", j))

    for key in messages.risk_imminent_by_danger:
        if key not in danger_ids:
            bad(f"risk_imminent_by_danger.{key}: no danger '{key}' in {resources_file} "
                f"(dangers: {', '.join(danger_ids) or 'none'})", messages_file,
                at=("risk_imminent_by_danger", key))
    openings: dict[tuple[str, ...], list[str]] = {("risk_imminent",): messages.risk_imminent} | {
        ("risk_imminent_by_danger", key): bubbles
        for key, bubbles in messages.risk_imminent_by_danger.items()}
    known_vars = set(variables)
    for at, bubbles in openings.items():
        where = ".".join(at)
        for text in bubbles:
            try:
                names = placeholders(text)
            except ValueError:
                bad(f"{where}: a lone '{{' or '}}' in the copy; write '{{{{' or '}}}}' to show "
                    "a brace", messages_file, at=at)
                continue
            for name in sorted(names - known_vars):
                bad(f"{where}: unknown placeholder {{{name}}} "
                    f"(known: {', '.join(sorted(known_vars))})", messages_file, at=at)
    return problems


def targets(flow: Flow, name: str) -> set[str]:
    """States directly reachable from `name` (global commands not included)."""
    state = flow.states[name]
    found: set[str] = set()
    if state.free_text and state.free_text.next:
        found.add(state.free_text.next)
    if state.ask:
        for c in [*state.ask.choices, *([state.ask.done] if state.ask.done else [])]:
            if c.next:
                found.add(c.next)
        if state.ask.next:
            found.add(state.ask.next)
        if state.ask.areas:
            found.add(state.ask.areas.next)
        if state.ask.typed:
            found.add(state.ask.typed.several)
            if state.ask.typed.unknown:
                found.add(state.ask.typed.unknown.next)
    return {t for t in found if t in flow.states}


def reachable(flow: Flow) -> set[str]:
    """States reachable from the start, through choices, free text and the global commands."""
    seen: set[str] = set()
    todo = [flow.start]
    todo += [g.target for g in flow.globals.values()]
    todo += [g.target_if_consented for g in flow.globals.values() if g.target_if_consented]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.states:
            continue
        seen.add(name)
        todo.extend(targets(flow, name))
    return seen
