"""The first slice of the conversation: greet, acknowledge, offer choices, never go silent.

Pure: takes the raw LINE event and the conversation's state, returns what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bot.content import Content
from bot.flows.line_messages import Message, call_buttons, text

FLOW_ID = "slice"
FLOW_VERSION = "1"
START = "open"


@dataclass(frozen=True)
class Reaction:
    messages: list[Message] = field(default_factory=list)
    state: str = START
    following: bool | None = None  # None: unchanged


def _with_choices(bubbles: list[str], content: Content) -> list[Message]:
    *head, last = bubbles
    return [text(b) for b in head] + [text(last, content.messages.choices)]


def _with_call_buttons(bubbles: list[str], content: Content) -> list[Message]:
    """The last bubble becomes the prompt of the hotlines' `tel:` buttons."""
    *head, last = bubbles
    return [text(b) for b in head] + [call_buttons(last, content.resources.hotlines)]


def _postback_action(event: dict[str, Any]) -> str:
    data = str((event.get("postback") or {}).get("data") or "")
    return (parse_qs(data).get("action") or [""])[0]


def respond(event: dict[str, Any], state: str, content: Content) -> Reaction:
    """What the bot answers to one event of a resident in a 1:1 chat."""
    m = content.messages
    kind = event.get("type")
    if kind == "follow":
        return Reaction(_with_choices(m.greeting, content), START, following=True)
    if kind == "unfollow":
        return Reaction([], state, following=False)
    if kind == "message":
        if (event.get("message") or {}).get("type") == "text":
            return Reaction(_with_choices(m.acknowledgement, content), state)
        return Reaction(_with_choices(m.non_text, content), state)
    if kind == "postback":
        action = _postback_action(event)
        if action == "emergency":
            return Reaction(_with_call_buttons(m.emergency, content), state)
        if action == "person":
            return Reaction(_with_call_buttons(m.person, content), state)
        if action == "support_info":
            return Reaction(_with_choices(m.support_info, content), state)
        # A button from an older message or another flow version: still answer.
        return Reaction(_with_choices(m.acknowledgement, content), state)
    # Beacons, account links, video completions, unsend, unknown types: nothing to say.
    return Reaction([], state)


def respond_to_group(event: dict[str, Any], content: Content) -> list[Message]:
    """The bot does not consult in groups: on joining it says so once, then stays quiet."""
    if event.get("type") == "join":
        return [text(b) for b in content.messages.group_notice]
    return []
