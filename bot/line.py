"""What LINE defines: the Messaging API's limits and builders of the message objects we send
(plain dicts, as the API defines them). Pure: imports nothing of the product, so the flows,
the content checks and the outbox all read LINE's rules from here. (The emulator, a stand-in
for LINE, keeps its own copy from LINE's documentation: it checks these, it does not share them.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

Message = dict[str, Any]

# Limits of the Messaging API (https://developers.line.biz/en/reference/messaging-api/).
MAX_MESSAGES = 5  # message objects in one reply or push
MAX_TEXT_UTF16 = 5000  # a text message, counted in UTF-16 code units
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20  # an action's label
MAX_ACTION_DATA = 300  # a postback's data
MAX_ALT_TEXT = 1500  # a template or Flex message's altText


def utf16_len(text: str) -> int:
    """Length as LINE counts it: an emoji outside the BMP is two."""
    return len(text.encode("utf-16-le")) // 2


class Dialable(Protocol):
    """A number a resident can call, as the content describes it."""

    @property
    def label(self) -> str: ...
    @property
    def tel(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def uri(self) -> str: ...
    @property
    def terms(self) -> str: ...
    @property
    def call_text(self) -> str: ...


DETAIL_COLOUR = "#555555"  # hours, cost and notes: quieter than the name, still readable


def text(body: str) -> Message:
    return {"type": "text", "text": body}


def quick_replies(message: Message, choices: Sequence[tuple[str, str]]) -> Message:
    """The message with postback buttons under it: (label, data) each."""
    items = [{"type": "action", "action": {"type": "postback", "label": label, "data": data,
                                           "displayText": label}} for label, data in choices]
    return {**message, "quickReply": {"items": items}}


def call_buttons(prompt: str, hotlines: Sequence[Dialable]) -> Message:
    """The numbers in one Flex bubble, in the order given (most urgent first): for each its name,
    hours and cost as far as known, a note, and a `tel:` button showing the number. A buttons
    template would hold only four. The alt text lists them too: it is what notifications, old
    clients and the counsellor's transcript show."""
    contents: list[dict[str, Any]] = [{"type": "text", "text": prompt, "wrap": True}]
    for rank, hotline in enumerate(hotlines):
        contents += [{"type": "separator", "margin": "lg"}, _row(hotline, first=rank == 0)]
    alt = "\n".join([prompt, *(_alt_line(h) for h in hotlines)])
    return {
        "type": "flex",
        "altText": alt if len(alt) <= MAX_ALT_TEXT else alt[: MAX_ALT_TEXT - 1] + "…",
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": contents},
        },
    }


def call_label(hotline: Dialable) -> str:
    """The button: the number as people read it (hyphens kept), at most 20 characters."""
    return hotline.call_text


def _row(hotline: Dialable, *, first: bool) -> dict[str, Any]:
    details = [d for d in (hotline.terms, hotline.note) if d]
    return {
        "type": "box",
        "layout": "vertical",
        "spacing": "xs",
        "margin": "lg",
        "contents": [
            {"type": "text", "text": hotline.label, "weight": "bold", "wrap": True},
            *({"type": "text", "text": d, "size": "sm", "color": DETAIL_COLOUR, "wrap": True}
              for d in details),
            {
                "type": "button",
                "style": "primary" if first else "secondary",
                "height": "sm",
                "margin": "sm",
                "action": {"type": "uri", "label": call_label(hotline), "uri": hotline.uri},
            },
        ],
    }


def _alt_line(hotline: Dialable) -> str:
    line = f"・{hotline.label} {hotline.tel}"
    if hotline.terms:
        line += f"（{hotline.terms}）"
    return f"{line} {hotline.note}" if hotline.note else line
