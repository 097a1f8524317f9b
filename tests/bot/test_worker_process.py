"""TSUNAGU_WORKER_PROCESS: the web process stores and acknowledges, a child process does the
rest (bot/platform/worker_process.py). The same product, seen from outside: replies reach LINE,
cases
reach the console live, a published release reaches the worker, /metrics counts its work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.platform.lifecycle import serve_newest_release
from bot.releases import store as content_store
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.models import Case
from tests.live import (
    METRICS_AUTH,
    LiveApp,
    Resident,
    free_port,
    resident_with_case,
    texts,
    wait_for,
)

WELCOME = "連絡してくださって、ありがとうございます。"
# How long a worker child may take to start (imports, content, risk model): seconds on a quiet
# machine, far more on a loaded one. A bound against hanging, not a speed claim: the benchmarks
# measure speed; what is checked after the start has the usual few seconds.
STARTUP = 180.0


# A server of each test's own: these tests publish releases and kill the worker.
@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"worker_process": True}


def workers_of(pid: int) -> list[int]:
    """The worker processes `pid` started (by their command line: a test run has others)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if stat[1] == str(pid) and b"bot.platform.worker_process" in command and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def processed(live: LiveApp, outcome: str) -> float:
    body = live.http.get("/metrics", headers=METRICS_AUTH).text
    found = re.search(rf'^tsunagu_inbox_events_processed_total{{outcome="{outcome}"}} (\S+)$',
                      body, re.M)
    return float(found.group(1)) if found else 0.0


def worker_ready(live: LiveApp) -> bool:
    """What the web process's /metrics says of its worker child."""
    body = live.http.get("/metrics", headers=METRICS_AUTH).text
    return re.search(r"^tsunagu_worker_process_ready 1(\.0)?$", body, re.M) is not None


@pytest.fixture
def ready_live(fresh_live: LiveApp) -> LiveApp:
    """A server whose worker child has started."""
    wait_for(lambda: worker_ready(fresh_live), timeout=STARTUP, interval=0.2)
    return fresh_live


def test_the_worker_process_answers_and_the_console_hears_of_it(ready_live: LiveApp) -> None:
    live = ready_live
    assert live.runtime.forward is not None  # the web process has no worker of its own
    before = live.runtime.changes.version
    r, _ = resident_with_case(live)
    assert WELCOME in texts(r.bot_messages())
    assert live.count(Case) == 1
    # Its commits reached this process's change feed (the console's live pages wait on it).
    wait_for(lambda: live.runtime.changes.version > before)
    # And its counts reached this process's /metrics.
    wait_for(lambda: processed(live, "done") >= 4, timeout=10)


def test_a_release_published_here_is_served_by_the_worker(ready_live: LiveApp) -> None:
    live = ready_live
    files = content_store.read_directory(DEFAULT_CONTENT_DIR)
    files["flows/intake.yaml"] = files["flows/intake.yaml"].replace(
        WELCOME, "ようこそ。連絡をありがとうございます。")
    with live.session() as s, s.begin():
        content_store.publish(s, files, author_id=None, reason="wording")
    serve_newest_release(live.runtime)  # as the admin page does after publishing

    def greeted_anew() -> bool:
        # A new resident each time: a conversation begun while the worker still served the
        # old release keeps that release's flow, as every conversation keeps its version.
        r = Resident(live)
        r.send(r.follow())
        return "ようこそ。" in texts(r.wait_messages(1))

    # The worker switches on the web process's word (or its own check, 30 s later).
    wait_for(greeted_anew, timeout=10, interval=0.5)


def test_a_worker_process_that_dies_is_replaced(ready_live: LiveApp) -> None:
    live = ready_live
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    # Recorded as sent too: a row the worker dies holding stays leased (60 s) before another
    # sender may take it, and the resident's next answer waits behind it.
    wait_for(r.all_sent)
    [first] = workers_of(os.getpid())
    os.kill(first, signal.SIGKILL)
    r.send(r.text("はじめる"))  # stored by the web process while no worker runs
    # /metrics says so until a new worker has started; then it answers what waited.
    wait_for(lambda: not worker_ready(live))
    wait_for(lambda: workers_of(os.getpid()) not in ([], [first]) and worker_ready(live),
             timeout=STARTUP, interval=0.2)
    assert texts(r.wait_messages(5)[4:])


def test_the_worker_process_dies_with_its_parent(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")} | {
        "TSUNAGU_DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TSUNAGU_EMULATOR": "true",
        # The emulator never runs beside a real channel: no secret or token, its own API.
        "TSUNAGU_LINE_API_BASE_URL": f"http://127.0.0.1:{port}/emulator",
        "TSUNAGU_LINE_DATA_API_BASE_URL": f"http://127.0.0.1:{port}/emulator",
        "TSUNAGU_WORKER_PROCESS": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.platform.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = wait_for(lambda: workers_of(server.pid), timeout=STARTUP)
        time.sleep(1)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    # No second worker is left behind for the next start to run beside.
    wait_for(lambda: not any(running(pid) for pid in workers), timeout=10)
