"""What the running app holds: settings, database, LINE client, content and background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.changes import ChangeFeed
from bot.db.models import ContentPreview
from bot.edge.ingest import InboxWriter
from bot.edge.line_client import LineClient, WebhookReader
from bot.journey.conversation import FlowLibrary
from bot.nlp.analyzer import Analyzer
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

    previews: dict[str, FlowLibrary] = field(default_factory=dict)  # by draft digest

    def __post_init__(self) -> None:
        self.inbox = InboxWriter(self.sessions)

    def library_for(self, session: Session, source_key: str) -> FlowLibrary:
        """The published content, or the draft an administrator is previewing as this user."""
        kind, _, user_id = source_key.partition(":")
        files = session.scalar(select(ContentPreview.files).where(
            ContentPreview.line_user_id == user_id)) if kind == "user" else None
        if files is None:
            return self.library
        from bot.releases.store import digest, load_files

        key = digest(files)
        if key not in self.previews:
            self.previews[key] = FlowLibrary(load_files(files), preview=True)
        return self.previews[key]

    @property
    def analyzer(self) -> Analyzer:
        return self.library.analyzer

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

