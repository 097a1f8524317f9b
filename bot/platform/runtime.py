"""What the running app holds: settings, database, LINE client, content and background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db.changes import ChangeFeed
from bot.edge.ingest import InboxWriter
from bot.edge.line_client import LineClient, WebhookReader
from bot.journey.conversation import FlowLibrary
from bot.releases.load import Content
from bot.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    webhook_reader: WebhookReader
    line: LineClient
    content: Content
    library: FlowLibrary
    worker_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    changes: ChangeFeed = field(default_factory=ChangeFeed)
    release_id: int | None = None  # the content release being served
    inbox: InboxWriter = field(init=False)
    # Set when a worker process does the background work: tells it what happened here.
    forward: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.inbox = InboxWriter(self.sessions)

    def serve(self, content: Content, release_id: int) -> None:
        """Serve another release from now on; conversations keep their flow version."""
        self.content, self.library, self.release_id = content, FlowLibrary(content), release_id
        if self.forward is not None:
            self.forward("change:content_releases")

    def wake_worker(self) -> None:
        self.worker_wakeup.set()
        if self.forward is not None:
            self.forward("wake:inbox")

    def wake_outbox(self) -> None:
        self.outbox_wakeup.set()
        if self.forward is not None:
            self.forward("wake:outbox")

