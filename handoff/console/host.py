"""What the console needs of the process serving it. The platform's runtime provides it; the
console names only this, so it never depends on how the product is assembled."""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from bot.db.changes import ChangeFeed
from bot.edge.line_client import LineClient
from bot.releases.load import Content
from bot.settings import Settings


class ConsoleHost(Protocol):
    settings: Settings
    sessions: sessionmaker[Session]
    content: Content  # the release being served
    release_id: int | None
    changes: ChangeFeed
    line: LineClient  # 既読 and the loading animation for the counsellor's chat (line_signals)

    def serve(self, content: Content, release_id: int) -> None:
        """Serve a newly published release from now on."""

    def wake_outbox(self) -> None: ...


def host(request: Request) -> ConsoleHost:
    served: ConsoleHost = request.app.state.runtime
    return served
