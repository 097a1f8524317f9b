"""What the running app holds: settings, database, LINE client, content and background tasks."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from linebot.v3 import WebhookParser
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.changes import ChangeFeed
from bot.content import Content
from bot.conversation import FlowLibrary
from bot.line_client import LineClient
from bot.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    parser: WebhookParser
    line: LineClient
    content: Content
    library: FlowLibrary
    worker_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    changes: ChangeFeed = field(default_factory=ChangeFeed)

    def wake_worker(self) -> None:
        self.worker_wakeup.set()

    def wake_outbox(self) -> None:
        self.outbox_wakeup.set()


async def wait_for_wakeup(event: asyncio.Event, seconds: float) -> None:
    """Sleep until `event` is set or `seconds` pass (polling covers other processes' work)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    event.clear()
