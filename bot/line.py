"""Builders of LINE message objects (plain dicts, as the Messaging API defines them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.content.schema import Hotline

Message = dict[str, Any]

MAX_ALT_TEXT = 1500  # LINE: a Flex message's altText
DETAIL_COLOUR = "#555555"  # hours, cost and notes: quieter than the name, still readable


def text(body: str) -> Message:
    return {"type": "text", "text": body}


def quick_replies(message: Message, choices: Sequence[tuple[str, str]]) -> Message:
    """The message with postback buttons under it: (label, data) each."""
    items = [{"type": "action", "action": {"type": "postback", "label": label, "data": data,
                                           "displayText": label}} for label, data in choices]
    return {**message, "quickReply": {"items": items}}


def call_buttons(prompt: str, hotlines: Sequence[Hotline]) -> Message:
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


def call_label(hotline: Hotline) -> str:
    """The button: the number as people read it (hyphens kept), at most 20 characters."""
    return f"{hotline.tel} に電話する"


def _row(hotline: Hotline, *, first: bool) -> dict[str, Any]:
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


def _alt_line(hotline: Hotline) -> str:
    line = f"・{hotline.label} {hotline.tel}"
    if hotline.terms:
        line += f"（{hotline.terms}）"
    return f"{line} {hotline.note}" if hotline.note else line
