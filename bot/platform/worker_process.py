"""The inbox worker, outbox sender and scheduled jobs in a child process of `tsunagu serve`.

Why: in one process the webhook shares a GIL with the flow, the risk analysis and the ORM, so
under load LINE waits for its acknowledgements behind work that could wait, and a second core
stays idle. With `TSUNAGU_WORKER_PROCESS=true` the web process only verifies, stores and
acknowledges (and serves the console); the child does everything else.

The two talk over a pipe, in short text messages:
- web -> worker: "wake:inbox" (events stored), "wake:outbox" (a counsellor's reply queued),
  "change:<topic>" (e.g. content_releases: an administrator published);
- worker -> web: "ready" once its work runs (until then, and while a dead one is replaced,
  events wait in the inbox and /metrics shows tsunagu_worker_process_ready 0);
  "change:commit" after each of its commits (SQLite: it wakes the console's live
  pages as a commit of the web process itself does; PostgreSQL's NOTIFY does this anyway), and
  every second "metrics:<json>", its counters' totals, which the web's /metrics shows.
The child dies with its parent: the kernel kills it (Linux), and it exits when the pipe closes,
so a web process killed with -9 never leaves a second worker behind for its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import metrics
from bot.platform import lifecycle

if TYPE_CHECKING:
    from bot.platform.runtime import Runtime
    from bot.settings import Settings

log = logging.getLogger(__name__)

STOP = "stop"
READY = "ready"
STOP_SECONDS = 20.0
METRICS_SECONDS = 1.0
RESTART_SECONDS = 1.0


@dataclass
class Link:
    """One end of the pipe: newline-separated messages over a local socket pair. Sending
    never blocks the event loop: every message is a hint the receiver's polling also covers,
    so one that finds the buffer full is dropped."""

    sock: socket.socket
    _buffer: bytes = field(default=b"", repr=False)

    def send(self, message: str) -> None:
        with contextlib.suppress(OSError):  # full, or the other side is gone
            self.sock.send(message.encode() + b"\n")

    def listen(self, on_message: Callable[[str], None], on_closed: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self.sock.setblocking(False)

        def readable() -> None:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self.sock.fileno())
                on_closed()
                return
            *lines, self._buffer = (self._buffer + data).split(b"\n")
            for line in lines:
                on_message(line.decode())

        loop.add_reader(self.sock.fileno(), readable)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


@dataclass
class WorkerProcess:
    """The parent's handle on the child; a child that dies is started again."""

    settings: Settings
    process: subprocess.Popen[bytes]
    link_: Link
    stopping: bool = False
    mirror: metrics.WorkerMirror = field(default_factory=metrics.WorkerMirror)

    @classmethod
    def start(cls, settings: Settings) -> WorkerProcess:
        """Call from the event loop's thread: Linux ties the child's life to the thread that
        started it (PR_SET_PDEATHSIG), and a pool thread may end before the process does."""
        return cls(settings, *_spawn(settings))

    def link(self, runtime: Runtime) -> None:
        """Forward this process's wake-ups and content changes to the child; hear its
        commits as changes and its counts as metrics."""
        loop = asyncio.get_running_loop()
        runtime.forward = self.link_.send

        def on_message(message: str) -> None:
            kind, _, rest = message.partition(":")
            if message == READY:
                log.info("worker process ready (pid %s)", self.process.pid)
                metrics.WORKER_PROCESS_READY.set(1)
            elif kind == "change":
                runtime.changes.changed(rest)
            elif kind == "metrics":
                with contextlib.suppress(ValueError, AttributeError):
                    self.mirror.update(json.loads(rest))

        def on_closed() -> None:
            if self.stopping:
                return
            metrics.WORKER_PROCESS_READY.set(0)
            log.error("the worker process ended (exit code %s); starting another",
                      self.process.poll())
            loop.call_later(RESTART_SECONDS, restart)

        def restart() -> None:
            if self.stopping:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)  # reap it
            self.link_.sock.close()
            self.process, self.link_ = _spawn(self.settings)
            self.link(runtime)
            runtime.wake_worker()  # whatever waited meanwhile
            runtime.wake_outbox()

        self.link_.listen(on_message, on_closed)

    def stop(self) -> None:
        self.stopping = True
        metrics.WORKER_PROCESS_READY.set(0)
        self.link_.sock.setblocking(True)
        self.link_.send(STOP)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.link_.sock.close()


def _spawn(settings: Settings) -> tuple[subprocess.Popen[bytes], Link]:
    metrics.WORKER_PROCESS_READY.set(0)  # until it says so
    ours, theirs = socket.socketpair()
    # A fresh interpreter (not fork: the parent has threads and a running loop); the settings
    # go over stdin, never on a command line or in a file.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.platform.worker_process", str(theirs.fileno())],
        pass_fds=[theirs.fileno()], stdin=subprocess.PIPE)
    theirs.close()
    assert process.stdin is not None
    process.stdin.write(pickle.dumps(settings))
    process.stdin.close()
    log.info("worker process %s started", process.pid)
    return process, Link(ours)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before we could ask
        os._exit(1)


def main(settings: Settings, sock: socket.socket) -> None:
    """The child: run until told to stop, or until the parent is gone."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    lifecycle.configure_logging(settings.log_level)
    asyncio.run(_work(settings, Link(sock)))


async def _work(settings: Settings, link: Link) -> None:
    from bot.db import logsafety

    logsafety.install()
    runtime = lifecycle.build_runtime(settings)
    stopped = asyncio.Event()

    def on_message(message: str) -> None:
        kind, _, topic = message.partition(":")
        if message == STOP:
            stopped.set()
        elif message == "wake:inbox":
            runtime.worker_wakeup.set()
        elif message == "wake:outbox":
            runtime.outbox_wakeup.set()
        elif kind == "change" and topic != "commit":
            runtime.changes.changed(topic)

    if settings.is_sqlite:
        # Our commits are the web process's live pages' signal.
        runtime.changes.subscribe(
            lambda topic: link.send("change:commit") if topic == "commit" else None)
    # The parent is gone (killed): stop at once, as it did, so that its successor's worker
    # is the only one.
    link.listen(on_message, lambda: os._exit(0))
    async with lifecycle.running(runtime, background=True) as tasks:
        tasks.append(asyncio.create_task(_report_metrics(link)))
        link.send(READY)
        try:
            await stopped.wait()
        finally:
            link.send("metrics:" + json.dumps(metrics.worker_counts()))  # the last counts
            link.close()


async def _report_metrics(link: Link, seconds: float = METRICS_SECONDS) -> None:
    """The web process serves /metrics: tell it what this process counted."""
    while True:
        await asyncio.sleep(seconds)
        link.send("metrics:" + json.dumps(metrics.worker_counts()))


if __name__ == "__main__":
    _settings = pickle.loads(sys.stdin.buffer.read())
    main(_settings, socket.socket(fileno=int(sys.argv[1])))
