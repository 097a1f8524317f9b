"""Webhook events shaped like LINE's (webhook.yml), and their signature. Pure: no I/O, no state.

The emulator page uses these to talk to the bot, and the project's tests can use them to build
signed webhook bodies without the emulator running:

    body, headers = signed_webhook([text_event(user_id, "こんにちは")], secret=secret)
    client.post("/line/webhook", content=body, headers=headers)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

Event = dict[str, Any]

# A sticker LINE itself uses in its samples (a brown bear saying "OK"); any valid pair would do.
DEFAULT_STICKER_PACKAGE_ID = "446"
DEFAULT_STICKER_ID = "1988"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_user_id() -> str:
    """A LINE user id: "U" and 32 lowercase hex digits."""
    return "U" + uuid.uuid4().hex


def new_ulid(timestamp_ms: int | None = None) -> str:
    """A 26-character ULID (48-bit millisecond time + 80 random bits), as webhookEventId is."""
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_reply_token() -> str:
    return uuid.uuid4().hex


def new_message_id() -> str:
    """LINE message ids are numeric strings of about 18 digits."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def new_quote_token() -> str:
    return secrets.token_urlsafe(48)


def new_mark_as_read_token() -> str:
    """LINE's read tokens are opaque URL-safe strings; they do not expire."""
    return secrets.token_urlsafe(32)


def new_rich_menu_id() -> str:
    """As LINE writes them: "richmenu-" and 32 lowercase hex digits."""
    return "richmenu-" + uuid.uuid4().hex


def now_ms() -> int:
    return int(time.time() * 1000)


def base_event(
    event_type: str,
    user_id: str,
    *,
    reply_token: str | None,
    timestamp_ms: int | None = None,
    is_redelivery: bool = False,
) -> Event:
    """Fields every one-on-one event carries. `reply_token=None` leaves it out (unfollow)."""
    ts = now_ms() if timestamp_ms is None else timestamp_ms
    event: Event = {
        "type": event_type,
        "mode": "active",
        "timestamp": ts,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_ulid(ts),
        "deliveryContext": {"isRedelivery": is_redelivery},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    return event


def text_event(
    user_id: str,
    text: str,
    *,
    reply_token: str | None = None,
    mark_as_read_token: str | None = None,
) -> Event:
    event = base_event("message", user_id, reply_token=reply_token or new_reply_token())
    event["message"] = {
        "id": new_message_id(),
        "type": "text",
        "text": text,
        "quoteToken": new_quote_token(),
        # Every message event carries one (webhook.yml). A token made here is unknown to an
        # emulator, which refuses it as LINE refuses another bot's: the page passes its own.
        "markAsReadToken": mark_as_read_token or new_mark_as_read_token(),
    }
    return event


def postback_event(
    user_id: str,
    data: str,
    *,
    params: dict[str, str] | None = None,
    reply_token: str | None = None,
) -> Event:
    # LINE does not put the action's displayText in the event: the bot only sees `data`.
    event = base_event("postback", user_id, reply_token=reply_token or new_reply_token())
    event["postback"] = {"data": data, **({"params": params} if params else {})}
    return event


def follow_event(
    user_id: str, *, is_unblocked: bool = False, reply_token: str | None = None
) -> Event:
    event = base_event("follow", user_id, reply_token=reply_token or new_reply_token())
    event["follow"] = {"isUnblocked": is_unblocked}
    return event


def unfollow_event(user_id: str) -> Event:
    # A blocked bot cannot answer, so LINE sends no reply token with unfollow.
    return base_event("unfollow", user_id, reply_token=None)


def sticker_event(
    user_id: str,
    *,
    package_id: str = DEFAULT_STICKER_PACKAGE_ID,
    sticker_id: str = DEFAULT_STICKER_ID,
    reply_token: str | None = None,
    mark_as_read_token: str | None = None,
) -> Event:
    event = base_event("message", user_id, reply_token=reply_token or new_reply_token())
    event["message"] = {
        "id": new_message_id(),
        "type": "sticker",
        "packageId": package_id,
        "stickerId": sticker_id,
        "stickerResourceType": "STATIC",
        "quoteToken": new_quote_token(),
        "markAsReadToken": mark_as_read_token or new_mark_as_read_token(),
    }
    return event


def image_event(
    user_id: str, *, reply_token: str | None = None, mark_as_read_token: str | None = None
) -> Event:
    """An image sent from the LINE app; its content would be fetched from the data API."""
    event = base_event("message", user_id, reply_token=reply_token or new_reply_token())
    event["message"] = {
        "id": new_message_id(),
        "type": "image",
        "contentProvider": {"type": "line"},
        "quoteToken": new_quote_token(),
        "markAsReadToken": mark_as_read_token or new_mark_as_read_token(),
    }
    return event


def webhook_body(events: list[Event], *, destination: str) -> bytes:
    """The request body LINE posts: UTF-8 JSON, Japanese left unescaped as LINE sends it."""
    payload = {"destination": destination, "events": events}
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (half an emoji) travels as a JSON escape
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def sign(body: bytes, secret: str) -> str:
    """`X-Line-Signature`: base64 of HMAC-SHA256 over the exact body bytes, keyed by the secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_webhook(
    events: list[Event], *, secret: str, destination: str = "U" + "0" * 32
) -> tuple[bytes, dict[str, str]]:
    """Body and headers for `POST /line/webhook`, exactly as LINE would send them."""
    body = webhook_body(events, destination=destination)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Line-Signature": sign(body, secret),
        "User-Agent": "LineBotWebhook/2.0",
    }
    return body, headers
