"""Kill -9 the server while it works through a batch, start it again: every accepted event is
processed exactly once and every answer reaches LINE exactly once.

The server is a real `tsunagu serve` process; LINE is the emulator of a separate app in this
test process, so what LINE received survives the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from line_emulator import events as line_events
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from tests.live import SECRET, TOKEN, LiveApp, free_port, wait_for

RESIDENTS = 40
ATTEMPTS = 3
WORDS = ["はじめる", "家賃が払えなくて困っています", "自分のこと"]
TSUNAGU = Path(sys.executable).parent / "tsunagu"
READY = "worker process ready"  # logged by the web process when its worker child is ready


class Server:
    """`tsunagu serve` in its own process, talking to `line` as its Messaging API."""

    def __init__(self, fresh_database_url: str, line: LiveApp, log: Path, *,
                 worker_process: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")} | {
            "TSUNAGU_DATABASE_URL": fresh_database_url,
            "TSUNAGU_LINE_CHANNEL_SECRET": SECRET,
            "TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "TSUNAGU_LINE_API_BASE_URL": f"{line.url}/emulator",
            "TSUNAGU_LINE_DATA_API_BASE_URL": f"{line.url}/emulator",
            "TSUNAGU_WORKER_POLL_SECONDS": "0.2",
            "TSUNAGU_OUTBOX_LEASE_SECONDS": "2",  # a killed sender's rows come back quickly
            "TSUNAGU_REPLY_TOKEN_TTL_SECONDS": "0",  # pushes: a resend is caught by its retry key
            "TSUNAGU_WORKER_PROCESS": str(worker_process).lower(),
        }
        self.log = log
        self.worker_process = worker_process
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        readied = self._log_text().count(READY)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(TSUNAGU), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=30)
        if self.worker_process:
            # The web process answers before its worker has loaded the content (the risk
            # model takes seconds): without this wait, every event is accepted before any is
            # processed, and the kill could not land mid-batch.
            wait_for(lambda: self._log_text().count(READY) > readied, timeout=60)

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # no shutdown, no cleanup: a crash
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def line(tmp_path: Path) -> Iterator[LiveApp]:
    app = LiveApp(f"sqlite:///{tmp_path}/line.db", background=False).start()
    yield app
    app.stop()


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def count(sessions: sessionmaker[Session], model: type[Any], *where: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.parametrize("worker_process", [False, True], ids=["one process", "worker process"])
def test_a_killed_server_loses_nothing_and_does_nothing_twice(
        fresh_database_url: str, line: LiveApp, sessions: sessionmaker[Session],
        tmp_path: Path, worker_process: bool) -> None:
    # With a worker process, the kill takes the web process; its worker must die with it.
    server = Server(fresh_database_url, line, tmp_path / "server.log",
                    worker_process=worker_process)
    server.start()
    users: list[str] = []
    accepted = 0
    landed = False

    def done() -> int:
        return count(sessions, InboxEvent, InboxEvent.status == InboxStatus.DONE)

    try:
        # Everyone types at once, each person in order: the server falls behind on purpose.
        def resident(user: str) -> int:
            events = [line_events.follow_event(user, reply_token=None)] + [
                line_events.text_event(user, words, reply_token=None) for words in WORDS]
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for event in events:
                    body, headers = line_events.signed_webhook([event], secret=SECRET)
                    answer = http.post("/line/webhook", content=body, headers=headers)
                    assert answer.status_code == 200
            return len(events)

        # A server as fast as the flood may finish a batch before the kill: that attempt
        # proves nothing, so another batch of residents comes (every one is checked below).
        for _ in range(ATTEMPTS):
            batch = [line_events.new_user_id() for _ in range(RESIDENTS)]
            for user in batch:
                line.emulator.register_user(user)
            users += batch
            before = accepted
            with ThreadPoolExecutor(max_workers=RESIDENTS) as pool:
                accepted += sum(pool.map(resident, batch))

            # Mid-batch: some events done, others waiting, some answers on their way.
            wait_for(lambda: done() >= before + (accepted - before) // 4,  # noqa: B023
                     timeout=60, interval=0.01)
            server.kill()
            landed = done() < accepted

            server.start()
            wait_for(lambda: done() == accepted, timeout=120)  # noqa: B023
            wait_for(lambda: count(sessions, OutboxMessage, OutboxMessage.status.in_(
                [OutboxStatus.PENDING, OutboxStatus.SENDING])) == 0, timeout=120)
            if landed:
                break
    finally:
        server.stop()

    assert landed, f"in {ATTEMPTS} batches the kill never came mid-batch: nothing was proved"
    assert count(sessions, InboxEvent) == accepted  # nothing accepted was lost
    with sessions() as s:
        # Everyone said the same things: processing each event exactly once leaves every
        # conversation in the same place with the same answers (a repeat would move it on).
        ends = {(c.state, tuple(sorted(c.answers.items())))
                for c in s.scalars(select(Conversation))}
        assert len(ends) == 1, ends
        per_user = [
            [m for row in s.scalars(select(OutboxMessage).where(
                OutboxMessage.line_user_id == user).order_by(OutboxMessage.id))
             for m in row.messages]
            for user in users]
        assert all(p == per_user[0] for p in per_user)
        assert {row.status for row in s.scalars(select(OutboxMessage))} == {OutboxStatus.SENT}
    for user, produced in zip(users, per_user, strict=True):
        assert line.emulator.bot_messages(user) == produced  # delivered once each, in order
