"""Danger now: which numbers come first and which words open the reply, for the risk categories
the analyser found. Pure: no I/O.

A message can show several dangers (a child being hit is `child_abuse` and `violence`). The
dangers of content/resources.yaml are listed most urgent first; the first one that matches gives
the first words, and the numbers are taken in turns from each matching danger's `first` list, so
every danger's own number is near the top. The other numbers that serve one of the categories
follow. When nothing matches, the general numbers and words serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, zip_longest

from bot.content.schema import Danger, Hotline, Messages, Resources
from bot.flows import intents as it
from bot.flows.engine import Dialogue, FlowRunner, Input, Step
from bot.flows.render import CONTACTS, fill, global_data
from bot.line import text

EMERGENCY_GLOBAL = "emergency"  # the flow's global command for the emergency state


def dangers_of(resources: Resources, categories: Iterable[str]) -> list[Danger]:
    """The dangers these categories belong to, most urgent first."""
    found = set(categories)
    return [d for d in resources.dangers if found.intersection(d.categories)]


def contacts_for(resources: Resources, categories: Iterable[str]) -> list[Hotline]:
    """The numbers for these categories, most urgent first; the general ones when none fits."""
    found = set(categories)
    firsts = [d.first for d in dangers_of(resources, found)]
    ids = [i for turn in zip_longest(*firsts) for i in turn if i is not None]
    ids += [h.id for h in resources.hotlines if found.intersection(h.categories)]
    by_id = {h.id: h for h in resources.hotlines}
    chosen = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    return chosen or resources.general()


def opening_for(messages: Messages, resources: Resources,
                categories: Iterable[str]) -> list[str]:
    """The first words (unfilled copy): the most urgent matching danger's own, else the general."""
    by_danger = messages.risk_imminent_by_danger
    own = (by_danger[d.id] for d in dangers_of(resources, categories) if d.id in by_danger)
    return next(own, messages.risk_imminent)


def emergency_step(runner: FlowRunner, dialogue: Dialogue, messages: Messages,
                   resources: Resources, categories: Sequence[str]) -> Step:
    """The flow's emergency command with the numbers for these categories, opened by the words
    for the danger; the flow is left in its emergency state (resumable) as the command leaves it.
    """
    contacts = contacts_for(resources, categories)
    answers = {**dialogue.answers, CONTACTS: [h.id for h in contacts]}
    step = runner.step(Dialogue(dialogue.state, answers, dict(dialogue.consent)),
                       Input("postback", data=global_data(EMERGENCY_GLOBAL)))
    step.answers.pop(CONTACTS, None)  # chosen for this reply only: never stored
    variables = runner.context.variables(step.answers)
    opening = [text(fill(b, variables))
               for b in opening_for(messages, resources, categories)]
    return Step(step.state, step.answers, step.consent,
                list(chain([it.Send(opening)], step.intents)))
