"""What a waiting resident reads: their place and the expected wait, or the safety net. Pure.

In hours, with a figure that is not too long: one bubble (place, range, keep writing).
Otherwise the safety net, always in this order:
  1. when a person will read it (closed: from when; nobody on duty; the long range), with the
     team's concrete answers for tonight's needs (food, a bed, utilities);
  2. a call-back request (a button that starts the `callback` global of the flow);
  3. the numbers to call: the team's after-hours contacts first, then the general hotlines;
  4. self-help resources from content;
  5. "you can keep writing here".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.content.languages import IDENTITY, Translator
from bot.content.schema import Messages, Resources, Team, Waiting
from bot.flows.render import global_data
from bot.flows.routing import duty_text
from bot.line import Dialable, Message, call_buttons, text
from handoff.estimate import Estimate, QueueView, overloaded

CALLBACK_GLOBAL = "callback"  # the flow's global that takes a call-back request


@dataclass(frozen=True)
class Situation:
    """A waiting resident's case as the copy needs it."""

    view: QueueView
    found: Estimate | None
    callback_asked: bool = False
    urgent_needs: Sequence[str] = field(default_factory=tuple)

    def net(self, rules: Waiting) -> bool:
        """The safety net is due: closed, nobody on duty, or a long wait."""
        return not self.view.open_now or self.found is None or overloaded(self.found, rules)


def place_line(place: int, messages: Messages) -> str:
    return messages.wait_next if place <= 1 else messages.wait_place.format(ahead=place - 1)


def range_line(found: Estimate, messages: Messages) -> str:
    if found.low <= 0:
        return messages.wait_soon.format(high=found.high)
    return messages.wait_range.format(low=found.low, high=found.high)


def numbers(team: Team, resources: Resources) -> list[Dialable]:
    """The team's after-hours contacts, then the general hotlines (each number once)."""
    seen: set[str] = set()
    out: list[Dialable] = []
    candidates: list[Dialable] = [*team.after_hours.contacts, *resources.general()]
    for one in candidates:
        digits = one.tel.replace("-", "")
        if digits not in seen:
            seen.add(digits)
            out.append(one)
    return out[:15]  # what one call-buttons bubble holds


def needs_text(team: Team, urgent_needs: Sequence[str], messages: Messages) -> str | None:
    answers = [team.after_hours.needs[n] for n in urgent_needs if n in team.after_hours.needs]
    return "\n\n".join([messages.net_needs, *answers]) if answers else None


def callback_offer(messages: Messages) -> Message:
    label = messages.net_callback_label
    return {
        "type": "template",
        "altText": messages.net_callback,
        "template": {"type": "buttons", "text": messages.net_callback, "actions": [
            {"type": "postback", "label": label, "data": global_data(CALLBACK_GLOBAL),
             "displayText": label}]},
    }


def self_help(resources: Resources, messages: Messages) -> Message | None:
    if not resources.self_help:
        return None
    items = ["\n".join(part for part in (f"・{h.label}", h.text, h.url) if part)
             for h in resources.self_help]
    return text("\n\n".join([messages.net_self_help, *items]))


def wait_messages(situation: Situation, *, team: Team, now: datetime, messages: Messages,
                  resources: Resources, rules: Waiting, update: bool = False,
                  offers: bool = True, tr: Translator = IDENTITY) -> list[Message]:
    """The messages telling the resident where they stand. `update`: an unprompted update (it
    says so first). `offers`: include the call-back, the numbers and the self-help of the safety
    net (an update after a net already offered repeats only where they stand)."""
    intro = [messages.wait_update] if update else []
    view, found = situation.view, situation.found
    if not situation.net(rules):
        assert found is not None
        return [text("\n".join([*intro, place_line(view.place, messages),
                                range_line(found, messages), messages.wait_keep_writing]))]

    # 1. When a person will read it, and what can be done today.
    if not view.open_now:
        when = [duty_text(team, now, tr), place_line(view.place, messages)]
    elif found is None:
        when = [place_line(view.place, messages), messages.wait_nobody]
    else:
        when = [place_line(view.place, messages),
                messages.wait_long.format(low=found.low, high=found.high)]
    if situation.callback_asked:
        when.append(messages.net_callback_asked)
    first = "\n".join([*intro, *when])
    tonight = needs_text(team, situation.urgent_needs, messages)
    out = [text(f"{first}\n\n{tonight}" if tonight else first)]
    if offers:
        if not situation.callback_asked:
            out.append(callback_offer(messages))  # 2.
        out.append(call_buttons(messages.net_call, numbers(team, resources)))  # 3.
        help_message = self_help(resources, messages)  # 4.
        if help_message is not None:
            out.append(help_message)
    out.append(text(messages.net_keep_writing))  # 5.
    return out
