"""The whole product on a real port: webhook, inbox worker, outbox and the LINE emulator.

The bot reaches the emulator through the real line-bot-sdk over HTTP, exactly as in the demo.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import httpx
import uvicorn
from line_emulator import events as line_events
from line_emulator.state import EmulatorState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bot.platform.app import create_app
from bot.platform.runtime import Runtime
from bot.settings import Settings
from handoff.accounts import add_counsellor
from handoff.models import Case, Role

SECRET = "test-channel-secret"
TOKEN = "test-channel-access-token"
METRICS_TOKEN = "test-metrics-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}  # what Prometheus sends
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll until `check` returns something truthy; fail the test with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"condition not met within {timeout} s (last value: {value!r})"
    return value


class LiveApp:
    def __init__(self, database_url: str, *, background: bool = True, **overrides: Any) -> None:
        self.background = background
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A second process of the same deployment passes the first one's emulator as its LINE.
        self.settings = Settings(**{
            "database_url": database_url,
            "emulator": True,
            "line_channel_secret": SECRET,
            "line_channel_access_token": TOKEN,
            "line_api_base_url": f"{self.url}/emulator",
            "line_data_api_base_url": f"{self.url}/emulator",
            "worker_poll_seconds": 0.2,
            "metrics_token": METRICS_TOKEN,
            **overrides,
        })
        self.app = create_app(self.settings, background=background)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.http = httpx.Client(base_url=self.url, timeout=10, trust_env=False)

    def start(self) -> LiveApp:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.http.close()

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime  # type: ignore[no-any-return]

    @property
    def emulator(self) -> EmulatorState:
        return self.app.state.emulator  # type: ignore[no-any-return]

    def session(self) -> Session:
        return self.runtime.sessions()

    def count(self, model: type[Any], *where: Any) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def post(self, events: list[dict[str, Any]], *, secret: str = SECRET) -> httpx.Response:
        body, headers = line_events.signed_webhook(events, secret=secret)
        return self.http.post("/line/webhook", content=body, headers=headers)

    def post_raw(self, body: bytes, *, secret: str = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json",
                   "X-Line-Signature": line_events.sign(body, secret)}
        return self.http.post("/line/webhook", content=body, headers=headers)


class Resident:
    """A LINE user typing to the bot; reply tokens come from the emulator, as from LINE."""

    def __init__(self, live: LiveApp, user_id: str | None = None) -> None:
        self.live = live
        self.user_id = user_id or line_events.new_user_id()
        live.emulator.register_user(self.user_id)

    def token(self) -> str:
        return self.live.emulator.issue_reply_token(self.user_id)

    def text(self, words: str) -> dict[str, Any]:
        return line_events.text_event(self.user_id, words, reply_token=self.token())

    def follow(self) -> dict[str, Any]:
        return line_events.follow_event(self.user_id, reply_token=self.token())

    def postback(self, data: str) -> dict[str, Any]:
        return line_events.postback_event(self.user_id, data, reply_token=self.token())

    def send(self, *events: dict[str, Any]) -> httpx.Response:
        response = self.live.post(list(events))
        assert response.status_code == 200, response.text
        return response

    def sticker(self) -> dict[str, Any]:
        return line_events.sticker_event(self.user_id, reply_token=self.token())

    def tap(self, label: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Tap a button the bot's latest answer offers; returns the bot's answer to it."""
        offered = [
            action for m in self.bot_messages()[-5:]
            for action in [i["action"] for i in (m.get("quickReply") or {}).get("items", [])]
            + list((m.get("template") or {}).get("actions", []))
            if action.get("label") == label
        ]
        assert offered, f"no button {label!r} in {self.bot_messages()[-1:]}"
        action = offered[-1]
        event = self.postback(action["data"]) if action["type"] == "postback" else \
            self.text(action["text"])
        return self.say_event(event, timeout)

    def say(self, words: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Type words; returns the bot's answer to them."""
        return self.say_event(self.text(words), timeout)

    def say_event(self, event: dict[str, Any], timeout: float = 10.0) -> list[dict[str, Any]]:
        before = len(self.bot_messages())
        self.send(event)
        # An answer of more than five messages goes out in two requests: wait for both.
        wait_for(lambda: len(self.bot_messages()) > before and self.all_sent(), timeout)
        return self.bot_messages()[before:]

    def all_sent(self) -> bool:
        unfinished = (OutboxStatus.PENDING, OutboxStatus.SENDING)
        return self.live.count(InboxEvent, InboxEvent.line_user_id == self.user_id,
                               InboxEvent.status == InboxStatus.PENDING) == 0 and \
            self.live.count(OutboxMessage, OutboxMessage.line_user_id == self.user_id,
                            OutboxMessage.status.in_(unfinished)) == 0

    def bot_messages(self) -> list[dict[str, Any]]:
        return self.live.emulator.bot_messages(self.user_id)

    def wait_messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.bot_messages()) >= count and self.bot_messages(),
                        timeout)


def texts(messages: list[dict[str, Any]]) -> str:
    """What a resident reads in these messages (text, or a template's alt text)."""
    return "\n".join(m.get("text") or m.get("altText") or "" for m in messages)


PASSWORD = "correct horse battery staple"  # every console account the tests create


class Staff(NamedTuple):
    """A console account a test server starts with (its password is PASSWORD)."""

    username: str
    display_name: str
    role: Role = Role.COUNSELLOR
    team_id: str | None = None


def add_staff(live: LiveApp, staff: list[Staff]) -> None:
    with live.session() as s, s.begin():
        for one in staff:
            add_counsellor(session=s, username=one.username, display_name=one.display_name,
                           password=PASSWORD, role=one.role, team_id=one.team_id)


def console_client(live: LiveApp) -> httpx.Client:
    """A browser on the console: it keeps cookies and shows redirects instead of following."""
    return httpx.Client(base_url=live.url, timeout=20, trust_env=False, follow_redirects=False)


def csrf_of(client: httpx.Client, path: str) -> str:
    """The CSRF token in the form on `path`, as the browser would submit it."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def logged_in(live: LiveApp, username: str, password: str = PASSWORD) -> httpx.Client:
    client = console_client(live)
    done = client.post("/console/login", data={"username": username, "password": password,
                                               "csrf": csrf_of(client, "/console/login")})
    assert done.status_code == 303 and done.headers["location"] == "/console/", username
    return client


def resident_with_case(live: LiveApp) -> tuple[Resident, int]:
    """A resident who asked for a person and consented: their case is in the queue."""
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.say("人と話したい")
    r.say("同意する")
    wait_for(r.all_sent)
    return r, case_of(live, r)


def case_of(live: LiveApp, r: Resident) -> int:
    """The resident's one case."""
    with live.session() as s:
        return int(s.scalars(select(Case.id).join(
            Conversation, Conversation.id == Case.conversation_id).where(
            Conversation.line_user_id == r.user_id)).one())


def conversation_of(live: LiveApp, r: Resident) -> Conversation:
    with live.session() as s:
        return s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
