"""Builders of LINE message objects (plain dicts, as the Messaging API defines them)."""

from __future__ import annotations

from typing import Any

from bot.content import Hotline

Message = dict[str, Any]


def text(body: str) -> Message:
    return {"type": "text", "text": body}


def call_buttons(prompt: str, hotlines: list[Hotline]) -> Message:
    """Numbers as tappable `tel:` buttons; the alt text lists them for old clients."""
    alt = prompt + "\n" + "\n".join(f"{h.label}: {h.tel}" for h in hotlines)
    return {
        "type": "template",
        "altText": alt[:1500],
        "template": {
            "type": "buttons",
            "text": prompt,
            "actions": [{"type": "uri", "label": h.label, "uri": f"tel:{h.tel}"}
                        for h in hotlines],
        },
    }
