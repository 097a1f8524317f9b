"""What the emulated LINE platform remembers: calls, reply tokens, retry keys, chats, faults,
rich menus (the default one and those linked to single users).

Shared between the server's event loop and test threads, so every field sits behind one lock and
readers get copies.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from line_emulator import events

Sender = Literal["resident", "bot", "system"]
# LINE Official Account Manager's chat setting. "bot" (chat off): LINE marks a user's messages
# read itself. "chat" (chat on): they stay unread until the bot marks them read by token.
ChatMode = Literal["bot", "chat"]

# Calls a bot makes beside its work, best effort (the loading animation, mark as read): an
# injected fault or delay that names no route is for the calls that deliver, not for these,
# so a test of LINE failing to deliver hits what it means to.
SIGNALS = frozenset({"/v2/bot/chat/loading/start", "/v2/bot/chat/markAsRead"})

# LINE documents one minute; the bot keeps its own, shorter margin (Settings.reply_token_ttl).
LINE_REPLY_TOKEN_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class RecordedCall:
    """One Messaging API request as the emulator answered it. `path` is LINE's (no /emulator)."""

    time: float
    method: str
    path: str
    status: int
    retry_key: str | None
    body: Any
    auth_ok: bool
    request_id: str = ""


@dataclass(frozen=True)
class ChatEntry:
    """One line of a resident's chat screen.

    `message` is a LINE message object: what the bot sent (reply/push), or for the resident the
    message they sent ({"type": "text", "text": ...}, sticker, image). System entries carry
    {"type": "follow" | "unfollow"} so the page can show a notice.
    """

    seq: int
    time: float
    sender: Sender
    message: dict[str, Any]
    via: str  # "reply" | "push" | "resident" | "system"

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "sender": self.sender,
            "message": self.message,
            "via": self.via,
        }


@dataclass
class _ReplyToken:
    user_id: str
    issued_at: float
    used: bool = False
    expired: bool = False


@dataclass
class _AcceptedPush:
    request_id: str
    sent_messages: list[dict[str, str]]


@dataclass(eq=False)
class _Subscriber:
    user_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


@dataclass
class _User:
    display_name: str
    blocked: bool = False
    log: list[ChatEntry] = field(default_factory=list)
    read_up_to: int = 0  # the resident's entries up to this seq show 既読 (chat mode)


@dataclass
class RichMenu:
    """A rich menu as created (LINE's RichMenuRequest body) and the image uploaded for it."""

    id: str
    body: dict[str, Any]
    image: bytes | None = None
    content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """LINE's RichMenuResponse."""
        return {"richMenuId": self.id, **{k: self.body.get(k) for k in (
            "size", "selected", "name", "chatBarText", "areas")}}


@dataclass
class _Fault:
    value: float  # a status (faults) or seconds (delays)
    path: str | None  # only this route; None: any route but SIGNALS


def _take(queue: list[_Fault], path: str) -> _Fault | None:
    for i, item in enumerate(queue):
        if item.path == path or (item.path is None and path not in SIGNALS):
            return queue.pop(i)
    return None


class EmulatorState:
    """The emulator's memory. One per mounted app; available as `app.state.emulator`."""

    def __init__(
        self,
        *,
        channel_secret: str,
        access_token: str,
        reply_token_ttl: float = LINE_REPLY_TOKEN_TTL_SECONDS,
        webhook_url: str | None = None,
        bot_user_id: str | None = None,
        chat_mode: ChatMode = "bot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel_secret = channel_secret
        self.chat_mode: ChatMode = chat_mode
        self.access_token = access_token
        self.reply_token_ttl = reply_token_ttl
        # None: this server's own /line/webhook, at the address of the socket the page's
        # request reached (never a header the caller writes).
        self.webhook_url = webhook_url
        self.bot_user_id = bot_user_id or events.new_user_id()
        self.bot_basic_id = "@tsunagu"
        self.bot_display_name = "tsunagu"
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._faults: list[_Fault] = []
        self._delays: list[_Fault] = []
        self._tokens: dict[str, _ReplyToken] = {}
        self._read_tokens: dict[str, tuple[str, int]] = {}  # token -> (user, entry seq)
        self._menus: dict[str, RichMenu] = {}
        self._default_menu: str | None = None
        self._links: dict[str, str] = {}  # user -> the rich menu linked to them alone
        self._accepted_pushes: dict[str, _AcceptedPush] = {}
        self._users: dict[str, _User] = {}
        self._known: set[str] = set()  # residents who sent an event: their profile exists
        self._subscribers: list[_Subscriber] = []
        self._seq = 0
        # Changes when the memory is wiped, so a reconnecting page knows the old seqs are void.
        self.epoch = uuid.uuid4().hex

    # ------------------------------------------------------------ test controls

    def reset(self) -> None:
        """Forgets calls, faults, tokens, retry keys and chats (one server shared by many tests)."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._delays.clear()
            self._tokens.clear()
            self._read_tokens.clear()
            self._accepted_pushes.clear()
            self._users.clear()
            self._known.clear()
            self._menus.clear()
            self._default_menu = None
            self._links.clear()
            self.epoch = uuid.uuid4().hex

    def inject_faults(self, statuses: Iterable[int], *, path: str | None = None) -> None:
        """The next API calls (one per status, in order) answer these statuses: calls to
        `path` (LINE's, e.g. "/v2/bot/chat/loading/start") or, without one, to any route
        but the best-effort signals (SIGNALS)."""
        with self._lock:
            self._faults.extend(_Fault(int(s), path) for s in statuses)

    def pending_faults(self) -> list[int]:
        with self._lock:
            return [int(f.value) for f in self._faults]

    def take_fault(self, path: str) -> int | None:
        with self._lock:
            found = _take(self._faults, path)
            return int(found.value) if found else None

    def inject_delays(self, seconds: Iterable[float], *, path: str | None = None) -> None:
        """The next API calls (one per delay; routes as for faults) are handled normally but
        answered only after these delays: a LINE that took the message while the bot's
        request timed out."""
        with self._lock:
            self._delays.extend(_Fault(float(s), path) for s in seconds)

    def take_delay(self, path: str) -> float:
        with self._lock:
            found = _take(self._delays, path)
            return found.value if found else 0.0

    def expire_reply_token(self, token: str) -> None:
        with self._lock:
            if token in self._tokens:
                self._tokens[token].expired = True

    # ------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def record_call(self, call: RecordedCall) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    @property
    def profile_fetches(self) -> list[str]:
        """User ids whose profile the bot asked for, in order (whatever the answer was)."""
        prefix = "/v2/bot/profile/"
        return [c.path.removeprefix(prefix) for c in self.calls if c.path.startswith(prefix)]

    def calls_to(self, path: str) -> list[RecordedCall]:
        """The calls to one of LINE's routes (e.g. "/v2/bot/chat/markAsRead"), in order."""
        return [c for c in self.calls if c.path == path]

    def deliveries(self) -> list[RecordedCall]:
        """Reply and push calls that LINE accepted (status 200)."""
        sending = ("/v2/bot/message/reply", "/v2/bot/message/push")
        return [c for c in self.calls if c.path in sending and c.status == 200]

    # ------------------------------------------------------------ users and reply tokens

    def register_user(self, user_id: str) -> None:
        """A resident who has talked to the bot: from now on their profile can be fetched."""
        with self._lock:
            self._user(user_id)
            self._known.add(user_id)

    def display_name(self, user_id: str) -> str | None:
        """The profile name of a resident who talked to the bot; None for anyone else."""
        with self._lock:
            return self._users[user_id].display_name if user_id in self._known else None

    def set_blocked(self, user_id: str, blocked: bool) -> bool:
        """Marks the resident as blocking the bot or not; returns whether they blocked before."""
        with self._lock:
            user = self._user(user_id)
            before, user.blocked = user.blocked, blocked
            return before

    def is_blocked(self, user_id: str) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            return bool(user and user.blocked)

    def issue_reply_token(self, user_id: str) -> str:
        """A token the emulator will accept once, for `reply_token_ttl` seconds."""
        token = events.new_reply_token()
        with self._lock:
            self._user(user_id)
            self._known.add(user_id)
            self._tokens[token] = _ReplyToken(user_id=user_id, issued_at=self._clock())
        return token

    def use_reply_token(self, token: Any) -> str | None:
        """The user the token was issued for, consuming it; None if LINE would refuse it."""
        with self._lock:
            entry = self._tokens.get(token) if isinstance(token, str) else None
            if entry is None or entry.used or entry.expired:
                return None
            if self._clock() - entry.issued_at > self.reply_token_ttl:
                return None
            entry.used = True
            return entry.user_id

    def accept_push(
        self, retry_key: str, request_id: str, sent: list[dict[str, str]]
    ) -> tuple[str, list[dict[str, str]]] | None:
        """Takes a retry key for this request: None if it is new, else the earlier acceptance
        (its request id and sent messages), which LINE answers with 409."""
        with self._lock:
            key = retry_key.lower()
            earlier = self._accepted_pushes.get(key)
            if earlier is not None:
                return earlier.request_id, list(earlier.sent_messages)
            self._accepted_pushes[key] = _AcceptedPush(request_id, list(sent))
            return None

    # ------------------------------------------------------------ read marks

    @property
    def mark_as_read_mode(self) -> str:
        return "manual" if self.chat_mode == "chat" else "auto"

    def issue_read_token(self, user_id: str, seq: int | None = None) -> str:
        """The markAsReadToken of a message the resident sent: marking it read marks it and
        everything they sent before. `seq`: its chat entry; None: their newest so far."""
        token = events.new_mark_as_read_token()
        with self._lock:
            user = self._user(user_id)
            if seq is None:
                seq = max((e.seq for e in user.log if e.sender == "resident"), default=0)
            self._read_tokens[token] = (user_id, seq)
        return token

    def mark_read(self, token: str) -> bool:
        """Marks the token's message and the earlier ones read; False for a token LINE did not
        give this bot. Marking again, or an older message, changes nothing."""
        with self._lock:
            found = self._read_tokens.get(token)
            if found is None:
                return False
            user_id, seq = found
            user = self._user(user_id)
            user.read_up_to = max(user.read_up_to, seq)
            up_to = user.read_up_to
            subscribers = [s for s in self._subscribers if s.user_id == user_id]
        self._publish(subscribers, {"event": "read", "data": {"upTo": up_to}})
        return True

    def read_up_to(self, user_id: str) -> int:
        with self._lock:
            user = self._users.get(user_id)
            return user.read_up_to if user else 0

    # ------------------------------------------------------------ rich menus

    def create_menu(self, body: dict[str, Any]) -> str:
        menu_id = events.new_rich_menu_id()
        with self._lock:
            self._menus[menu_id] = RichMenu(menu_id, dict(body))
        return menu_id

    def menu(self, menu_id: str) -> RichMenu | None:
        with self._lock:
            return self._menus.get(menu_id)

    def menus(self) -> list[RichMenu]:
        with self._lock:
            return list(self._menus.values())

    def delete_menu(self, menu_id: str) -> bool:
        """Forgets the menu; as in LINE, it stops being the default and every user linked to it
        is unlinked (they see the default again)."""
        with self._lock:
            if self._menus.pop(menu_id, None) is None:
                return False
            default_changed = self._default_menu == menu_id
            if default_changed:
                self._default_menu = None
            unlinked = {u for u, m in self._links.items() if m == menu_id}
            for user_id in unlinked:
                del self._links[user_id]
        if default_changed:
            self._menu_changed()  # everyone, the unlinked users included
        elif unlinked:
            self._menu_changed(unlinked)
        return True

    def set_menu_image(self, menu_id: str, image: bytes, content_type: str) -> bool:
        """Attaches the image; False if the menu already has one (LINE never replaces it) or
        is gone."""
        with self._lock:
            menu = self._menus.get(menu_id)
            if menu is None or menu.image is not None:
                return False
            menu.image, menu.content_type = image, content_type
        return True

    def set_default_menu(self, menu_id: str | None) -> None:
        with self._lock:
            self._default_menu = menu_id
        self._menu_changed()

    def default_menu(self) -> RichMenu | None:
        with self._lock:
            return self._menus.get(self._default_menu) if self._default_menu else None

    def link_menu(self, user_id: str, menu_id: str) -> bool:
        """Shows this menu to this user instead of the default; False if the menu is gone.
        The caller checks the image first (LINE refuses a menu without one)."""
        with self._lock:
            if menu_id not in self._menus:
                return False
            changed = self._links.get(user_id) != menu_id
            self._links[user_id] = menu_id
        if changed:
            self._menu_changed({user_id})
        return True

    def unlink_menu(self, user_id: str) -> bool:
        """Back to the default menu for this user; False if nothing was linked."""
        with self._lock:
            changed = self._links.pop(user_id, None) is not None
        if changed:
            self._menu_changed({user_id})
        return changed

    def linked_menu(self, user_id: str) -> RichMenu | None:
        """The menu linked to this user alone (LINE's "rich menu ID of user"), not the default."""
        with self._lock:
            menu_id = self._links.get(user_id)
            return self._menus.get(menu_id) if menu_id else None

    def menu_for(self, user_id: str) -> RichMenu | None:
        """What this user's chat shows: the linked menu, else the default."""
        with self._lock:
            menu_id = self._links.get(user_id) or self._default_menu
            return self._menus.get(menu_id) if menu_id else None

    def _menu_changed(self, user_ids: set[str] | None = None) -> None:
        # The open chats of these users (None: everyone, as for the default) fetch their menu
        # again; a per-user link changes no one else's screen.
        with self._lock:
            subscribers = [
                s for s in self._subscribers if user_ids is None or s.user_id in user_ids
            ]
        self._publish(subscribers, {"event": "richmenu", "data": {}})

    # ------------------------------------------------------------ chat logs

    def append(self, user_id: str, sender: Sender, message: dict[str, Any], via: str) -> ChatEntry:
        """Adds a line to the resident's chat and pushes it to the page's live streams."""
        with self._changed:
            self._seq += 1
            entry = ChatEntry(self._seq, self._clock(), sender, message, via)
            self._user(user_id).log.append(entry)
            subscribers = [s for s in self._subscribers if s.user_id == user_id]
            self._changed.notify_all()
        self._publish(subscribers, {"event": "entry", "data": entry.to_json()})
        return entry

    def deliver(self, user_id: str, messages: list[dict[str, Any]], via: str) -> bool:
        """Puts the bot's messages on the resident's screen, unless they block the bot."""
        with self._lock:
            if self._user(user_id).blocked:
                return False
        for message in messages:
            self.append(user_id, "bot", message, via)
        return True

    def chat_log(self, user_id: str) -> list[ChatEntry]:
        with self._lock:
            user = self._users.get(user_id)
            return list(user.log) if user else []

    def bot_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Every message the bot delivered to this resident, in order."""
        return [e.message for e in self.chat_log(user_id) if e.sender == "bot"]

    def wait_for_bot_messages(
        self, user_id: str, count: int, within: float = 5.0
    ) -> list[dict[str, Any]]:
        """Blocks (in a test thread, not the server's loop) until `count` bot messages arrived.

        Returns all of them so far, even if fewer came before the timeout.
        """
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                user = self._users.get(user_id)
                found = [e.message for e in (user.log if user else []) if e.sender == "bot"]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._changed.wait(left)

    async def async_wait_for_bot_messages(
        self, user_id: str, count: int, within: float = 5.0
    ) -> list[dict[str, Any]]:
        """Same as `wait_for_bot_messages`, for async tests sharing the server's loop."""
        deadline = time.monotonic() + within
        while True:
            found = self.bot_messages(user_id)
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------ webhook

    async def post_webhook(
        self, event_list: list[events.Event], url: str, *, timeout_seconds: float = 10.0
    ) -> int:
        """Signs and POSTs events to the bot as LINE does; the HTTP status, or 0 if unreachable."""
        body, headers = events.signed_webhook(
            event_list, secret=self.channel_secret, destination=self.bot_user_id
        )
        # trust_env=False: a proxy from the environment must not sit between us and localhost.
        async with httpx.AsyncClient(timeout=timeout_seconds, trust_env=False) as client:
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                return 0
        return response.status_code

    # ------------------------------------------------------------ live streams

    def show_loading(self, user_id: str, seconds: int) -> None:
        with self._lock:
            subscribers = [s for s in self._subscribers if s.user_id == user_id]
        self._publish(subscribers, {"event": "loading", "data": {"seconds": seconds}})

    def subscribe(self, user_id: str) -> tuple[_Subscriber, list[ChatEntry]]:
        """A queue of new entries plus the history so far, taken atomically so none is lost."""
        subscriber = _Subscriber(user_id=user_id, loop=asyncio.get_running_loop())
        with self._lock:
            self._subscribers.append(subscriber)
            user = self._users.get(user_id)
            history = list(user.log) if user else []
        return subscriber, history

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    @staticmethod
    def _publish(subscribers: list[_Subscriber], item: dict[str, Any]) -> None:
        # Deliveries may come from a test thread; a queue may only be touched from its own loop.
        for s in subscribers:
            if not s.loop.is_closed():
                s.loop.call_soon_threadsafe(s.queue.put_nowait, item)

    # ------------------------------------------------------------ helpers (lock held)

    def _user(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None:
            # A stable, friendly name per resident so a demo can tell two residents apart.
            user = _User(display_name=f"相談者 {user_id[1:5]}")
            self._users[user_id] = user
        return user

    @staticmethod
    def new_request_id() -> str:
        return str(uuid.uuid4())
