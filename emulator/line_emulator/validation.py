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


# ---------------------------------------------------------------------- rich menus

RICH_MENU_ACTION_TYPES = frozenset(
    {"postback", "message", "uri", "datetimepicker", "richmenuswitch", "clipboard"}
)
RICH_MENU_MIN_WIDTH = 800
RICH_MENU_MAX_WIDTH = 2500
RICH_MENU_MIN_HEIGHT = 250
RICH_MENU_MIN_RATIO = 1.45  # width / height
MAX_RICH_MENU_NAME = 300
MAX_CHAT_BAR_TEXT = 14
MAX_RICH_MENU_AREAS = 20
MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024
RICH_MENU_IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_menu_size(width: int, height: int, where: str) -> list[Problem]:
    """LINE's limits on a rich menu's size (and its image's): 800–2500 wide, 250 or more high,
    at least 1.45 times as wide as high."""
    out: list[Problem] = []
    if not RICH_MENU_MIN_WIDTH <= width <= RICH_MENU_MAX_WIDTH:
        out.append((f"{where}.width",
                    f"Must be between {RICH_MENU_MIN_WIDTH} and {RICH_MENU_MAX_WIDTH}"))
    if height < RICH_MENU_MIN_HEIGHT:
        out.append((f"{where}.height", f"Must be {RICH_MENU_MIN_HEIGHT} or more"))
    if height > 0 and width / height < RICH_MENU_MIN_RATIO:
        out.append((where, f"Aspect ratio (width / height) must be {RICH_MENU_MIN_RATIO} or more"))
    return out


def validate_rich_menu(body: Any) -> list[Problem]:
    """Everything LINE would refuse in a RichMenuRequest (create and validate)."""
    if not isinstance(body, dict):
        return [("", "Must be an object")]
    out: list[Problem] = []
    size = body.get("size")
    width = height = 0
    if not isinstance(size, dict):
        out.append(("size", "May not be empty"))
    elif not (_int(size.get("width")) and _int(size.get("height"))):
        out.append(("size", "width and height must be integers"))
    else:
        width, height = size["width"], size["height"]
        out += check_menu_size(width, height, "size")
    if not isinstance(body.get("selected"), bool):
        out.append(("selected", "Must be a boolean"))
    _text(body, "name", "", out, high=MAX_RICH_MENU_NAME)
    _text(body, "chatBarText", "", out, high=MAX_CHAT_BAR_TEXT)
    areas = body.get("areas")
    if _sized(areas, "areas", out, 0, MAX_RICH_MENU_AREAS):
        for i, area in enumerate(areas):
            _area(area, f"areas[{i}]", width, height, out)
    # `_text` wrote ".name" for top-level properties; LINE names them bare.
    return [(prop.removeprefix("."), message) for prop, message in out]


def _area(area: Any, where: str, width: int, height: int, out: list[Problem]) -> None:
    if not isinstance(area, dict):
        out.append((where, "Must be an object"))
        return
    bounds = area.get("bounds")
    keys = ("x", "y", "width", "height")
    if not isinstance(bounds, dict) or not all(_int(bounds.get(k)) for k in keys):
        out.append((f"{where}.bounds", "x, y, width and height must be integers"))
    else:
        x, y, w, h = (bounds[k] for k in keys)
        if x < 0 or y < 0 or w < 1 or h < 1:
            out.append((f"{where}.bounds", "x and y must be 0 or more, width and height 1 or more"))
        elif width and height and (x + w > width or y + h > height):
            out.append((f"{where}.bounds", "The area must be within the rich menu"))
    action = area.get("action")
    if isinstance(action, dict) and action.get("type") not in RICH_MENU_ACTION_TYPES:
        out.append((f"{where}.action.type", f"Invalid action type: {action.get('type')}"))
        return
    # A rich menu's labels are optional (read aloud by accessibility features).
    _action(action, f"{where}.action", out, label_required=False)


def image_size(data: bytes, content_type: str) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR or a JPEG's start-of-frame; None if unreadable."""
    if content_type == "image/png":
        if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        # Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if at + 9 > len(data):
                return None
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height
        at += 2 + length
    return None


def check_menu_image(
    data: bytes, content_type: str | None, size: dict[str, Any]
) -> str | None:
    """Why LINE would refuse this image for a menu of `size`, or None. JPEG or PNG, at most
    1 MB, a rich menu's size; the areas are in the image's pixels, so it must be the menu's."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in RICH_MENU_IMAGE_TYPES:
        return "The image must be image/jpeg or image/png"
    if not data:
        return "The request body has no image"
    if len(data) > MAX_RICH_MENU_IMAGE_BYTES:
        return "The image must be 1 MB or smaller"
    found = image_size(data, kind)
    if found is None:
        return f"The image is not a valid {kind.removeprefix('image/').upper()}"
    if check_menu_size(*found, "image"):
        return ("The image must be 800 to 2500 pixels wide, 250 or more high, "
                "with a ratio of 1.45 or more")
    menu = (size.get("width"), size.get("height"))
    if found != menu:
        return f"The image is {found[0]}x{found[1]}; the rich menu is {menu[0]}x{menu[1]}"
    return None
