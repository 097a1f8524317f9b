"""LINE's documented limits on message objects, checked the way the Messaging API checks them.

`validate_messages` returns what LINE would list in a 400 body's `details`: (property, message)
pairs such as ("messages[0].text", "Length must be between 1 and 5000"). Text is measured in
UTF-16 code units (as LINE counts it, so an emoji counts twice); labels and other fields in
characters. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, TypeGuard
from urllib.parse import urlsplit

Problem = tuple[str, str]

MESSAGE_TYPES = frozenset(
    {
        "text",
        "textV2",
        "sticker",
        "image",
        "video",
        "audio",
        "location",
        "imagemap",
        "template",
        "flex",
        "coupon",
    }
)
ACTION_TYPES = frozenset(
    {
        "postback",
        "message",
        "uri",
        "datetimepicker",
        "camera",
        "cameraRoll",
        "location",
        "richmenuswitch",
        "clipboard",
    }
)
URI_SCHEMES = frozenset({"http", "https", "line", "tel"})

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20
MAX_ACTION_DATA = 300
MAX_ACTION_TEXT = 300
MAX_URI = 1000
MAX_ALT_TEXT = 1500
MAX_BUTTONS_ACTIONS = 4
MAX_BUTTONS_TEXT = 160
MAX_BUTTONS_TEXT_WITH_TITLE = 60  # with a title or a thumbnail the card has less room
MAX_TEMPLATE_TITLE = 40
MAX_CONFIRM_TEXT = 240
MAX_CAROUSEL_COLUMNS = 10
MAX_CAROUSEL_ACTIONS = 3
MAX_CAROUSEL_TEXT = 120
MAX_CAROUSEL_TEXT_WITH_TITLE = 60
MAX_FLEX_BUBBLES = 12
MAX_FLEX_LABEL = 40  # Flex buttons are wider than template buttons
MAX_IMAGE_URL = 2000


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def validate_messages(messages: Any) -> list[Problem]:
    """Everything LINE would refuse in the `messages` of a reply or push request."""
    if messages is None:
        return [("messages", "May not be empty")]
    if not isinstance(messages, list):
        return [("messages", "Must be an array")]
    if not 1 <= len(messages) <= MAX_MESSAGES:
        return [("messages", f"Size must be between 1 and {MAX_MESSAGES}")]
    out: list[Problem] = []
    for i, message in enumerate(messages):
        _message(message, f"messages[{i}]", out)
    return out


def _message(m: Any, where: str, out: list[Problem]) -> None:
    if not isinstance(m, dict):
        out.append((where, "Must be an object"))
        return
    kind = m.get("type")
    if not kind:
        out.append((f"{where}.type", "May not be empty"))
        return
    if kind not in MESSAGE_TYPES:
        out.append((f"{where}.type", f"Invalid message type: {kind}"))
        return
    if kind in ("text", "textV2"):
        _text(m, "text", where, out, high=MAX_TEXT_UTF16, utf16=True)
    elif kind == "sticker":
        _text(m, "packageId", where, out)
        _text(m, "stickerId", where, out)
    elif kind in ("image", "video"):
        _url(m, "originalContentUrl", where, out, https_only=True)
        _url(m, "previewImageUrl", where, out, https_only=True)
    elif kind == "audio":
        _url(m, "originalContentUrl", where, out, https_only=True)
        if not isinstance(m.get("duration"), int):
            out.append((f"{where}.duration", "May not be empty"))
    elif kind == "location":
        _text(m, "title", where, out, high=100)
        _text(m, "address", where, out, high=100)
        for key in ("latitude", "longitude"):
            if not isinstance(m.get(key), int | float):
                out.append((f"{where}.{key}", "May not be empty"))
    elif kind == "imagemap":
        _text(m, "altText", where, out, high=MAX_ALT_TEXT)
        _url(m, "baseUrl", where, out, https_only=True)
    elif kind == "template":
        _text(m, "altText", where, out, high=MAX_ALT_TEXT)
        _template(m.get("template"), f"{where}.template", out)
    elif kind == "flex":
        _text(m, "altText", where, out, high=MAX_ALT_TEXT)
        _flex(m.get("contents"), f"{where}.contents", out)
    elif kind == "coupon":
        _text(m, "couponId", where, out)
    _quick_reply(m.get("quickReply"), f"{where}.quickReply", out)
    sender = m.get("sender")
    if isinstance(sender, dict):
        _text(sender, "name", f"{where}.sender", out, required=False, high=20)


def _quick_reply(qr: Any, where: str, out: list[Problem]) -> None:
    if qr is None:
        return
    items = qr.get("items") if isinstance(qr, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
        out.append((f"{where}.items", f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}"))
        return
    for j, item in enumerate(items):
        item_where = f"{where}.items[{j}]"
        if not isinstance(item, dict):
            out.append((item_where, "Must be an object"))
            continue
        if item.get("type", "action") != "action":
            out.append((f"{item_where}.type", "Must be action"))
        if "imageUrl" in item:
            _url(item, "imageUrl", item_where, out, https_only=True, high=MAX_IMAGE_URL)
        action = item.get("action")
        # LINE lets uri and clipboard buttons go without a label; the others need one to be seen.
        needs_label = isinstance(action, dict) and action.get("type") not in ("uri", "clipboard")
        _action(action, f"{item_where}.action", out, label_required=needs_label)


def _template(t: Any, where: str, out: list[Problem]) -> None:
    if not isinstance(t, dict):
        out.append((where, "May not be empty"))
        return
    kind = t.get("type")
    if kind == "buttons":
        has_title = bool(t.get("title") or t.get("thumbnailImageUrl"))
        limit = MAX_BUTTONS_TEXT_WITH_TITLE if has_title else MAX_BUTTONS_TEXT
        _text(t, "text", where, out, high=limit)
        _text(t, "title", where, out, required=False, high=MAX_TEMPLATE_TITLE)
        if "thumbnailImageUrl" in t:
            _url(t, "thumbnailImageUrl", where, out, https_only=True, high=MAX_IMAGE_URL)
        _actions(t.get("actions"), f"{where}.actions", out, low=1, high=MAX_BUTTONS_ACTIONS)
        if t.get("defaultAction") is not None:
            _action(t["defaultAction"], f"{where}.defaultAction", out, label_required=False)
    elif kind == "confirm":
        _text(t, "text", where, out, high=MAX_CONFIRM_TEXT)
        _actions(t.get("actions"), f"{where}.actions", out, low=2, high=2)
    elif kind == "carousel":
        _carousel(t.get("columns"), f"{where}.columns", out)
    elif kind == "image_carousel":
        columns = t.get("columns")
        if not _sized(columns, f"{where}.columns", out, 1, MAX_CAROUSEL_COLUMNS):
            return
        for k, col in enumerate(columns):
            col_where = f"{where}.columns[{k}]"
            if not isinstance(col, dict):
                out.append((col_where, "Must be an object"))
                continue
            _url(col, "imageUrl", col_where, out, https_only=True, high=MAX_IMAGE_URL)
            _action(
                col.get("action"), f"{col_where}.action", out, label_required=False, label_max=12
            )
    elif not kind:
        out.append((f"{where}.type", "May not be empty"))
    else:
        out.append((f"{where}.type", f"Invalid template type: {kind}"))


def _carousel(columns: Any, where: str, out: list[Problem]) -> None:
    if not _sized(columns, where, out, 1, MAX_CAROUSEL_COLUMNS):
        return
    counts: set[int] = set()
    for k, col in enumerate(columns):
        col_where = f"{where}[{k}]"
        if not isinstance(col, dict):
            out.append((col_where, "Must be an object"))
            continue
        has_title = bool(col.get("title") or col.get("thumbnailImageUrl"))
        limit = MAX_CAROUSEL_TEXT_WITH_TITLE if has_title else MAX_CAROUSEL_TEXT
        _text(col, "text", col_where, out, high=limit)
        _text(col, "title", col_where, out, required=False, high=MAX_TEMPLATE_TITLE)
        actions = col.get("actions")
        _actions(actions, f"{col_where}.actions", out, low=1, high=MAX_CAROUSEL_ACTIONS)
        if isinstance(actions, list):
            counts.add(len(actions))
    if len(counts) > 1:
        out.append((where, "All columns must have the same number of actions"))


def _actions(actions: Any, where: str, out: list[Problem], *, low: int, high: int) -> None:
    if not _sized(actions, where, out, low, high):
        return
    for j, action in enumerate(actions):
        _action(action, f"{where}[{j}]", out, label_required=True)


def _action(
    a: Any,
    where: str,
    out: list[Problem],
    *,
    label_required: bool,
    label_max: int = MAX_LABEL,
) -> None:
    if not isinstance(a, dict):
        out.append((where, "May not be empty"))
        return
    kind = a.get("type")
    if kind not in ACTION_TYPES:
        out.append((f"{where}.type", f"Invalid action type: {kind}"))
        return
    _text(a, "label", where, out, required=label_required, high=label_max)
    if kind == "postback":
        _text(a, "data", where, out, low=0, high=MAX_ACTION_DATA)
        _text(a, "displayText", where, out, required=False, high=MAX_ACTION_TEXT)
        _text(a, "text", where, out, required=False, high=MAX_ACTION_TEXT)
        if a.get("displayText") is not None and a.get("text") is not None:
            out.append((f"{where}.text", "Cannot be specified together with displayText"))
    elif kind == "message":
        _text(a, "text", where, out, high=MAX_ACTION_TEXT)
    elif kind == "uri":
        _url(a, "uri", where, out, high=MAX_URI)
    elif kind == "datetimepicker":
        _text(a, "data", where, out, low=0, high=MAX_ACTION_DATA)
        if a.get("mode") not in ("date", "time", "datetime"):
            out.append((f"{where}.mode", "Must be one of date, time, datetime"))
    elif kind == "clipboard":
        _text(a, "clipboardText", where, out, high=1000)
    elif kind == "richmenuswitch":
        _text(a, "richMenuAliasId", where, out, high=32)
        _text(a, "data", where, out, low=0, high=MAX_ACTION_DATA)


def _flex(contents: Any, where: str, out: list[Problem]) -> None:
    if not isinstance(contents, dict):
        out.append((where, "May not be empty"))
        return
    kind = contents.get("type")
    if kind == "carousel":
        _sized(contents.get("contents"), f"{where}.contents", out, 1, MAX_FLEX_BUBBLES)
    elif kind != "bubble":
        out.append((f"{where}.type", f"Invalid flex container type: {kind}"))
        return
    _flex_actions(contents, where, out)


def _flex_actions(node: Any, where: str, out: list[Problem]) -> None:
    """Actions may sit anywhere in a Flex tree; check each where it is found."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("action", "defaultAction") and isinstance(value, dict):
                _action(
                    value, f"{where}.{key}", out, label_required=False, label_max=MAX_FLEX_LABEL
                )
            else:
                _flex_actions(value, f"{where}.{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _flex_actions(value, f"{where}[{i}]", out)


def _sized(value: Any, where: str, out: list[Problem], low: int, high: int) -> TypeGuard[list[Any]]:
    if not isinstance(value, list) or not low <= len(value) <= high:
        bounds = f"exactly {low}" if low == high else f"between {low} and {high}"
        out.append((where, f"Size must be {bounds}"))
        return False
    return True


def _text(
    obj: dict[str, Any],
    key: str,
    where: str,
    out: list[Problem],
    *,
    required: bool = True,
    low: int = 1,
    high: int | None = None,
    utf16: bool = False,
) -> None:
    value = obj.get(key)
    prop = f"{where}.{key}"
    if value is None:
        if required:
            out.append((prop, "May not be empty"))
        return
    if not isinstance(value, str):
        out.append((prop, "Must be a string"))
        return
    size = utf16_len(value) if utf16 else len(value)
    if required and low > 0 and size == 0:
        out.append((prop, "May not be empty"))
    elif high is not None and not low <= size <= high:
        out.append((prop, f"Length must be between {low} and {high}"))


def _url(
    obj: dict[str, Any],
    key: str,
    where: str,
    out: list[Problem],
    *,
    https_only: bool = False,
    high: int = MAX_URI,
) -> None:
    before = len(out)
    _text(obj, key, where, out, high=high)
    if len(out) > before:
        return
    scheme = urlsplit(obj[key]).scheme.lower()
    allowed = {"https"} if https_only else URI_SCHEMES
    if scheme not in allowed:
        out.append((f"{where}.{key}", f"Scheme must be one of {', '.join(sorted(allowed))}"))
