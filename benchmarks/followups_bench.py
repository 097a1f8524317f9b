"""Due follow-ups dispatched through the whole product to the LINE emulator, against a baseline.

    python benchmarks/followups_bench.py [--count N] [--database-url URL] [--dispatchers K]

Product: N conversations, each with one follow-up already due, in a fresh database; the real app
(create_app, emulator on, served by uvicorn in this process, LINE API base URL pointing at its own
emulator) with its background OutboxSender; dispatch passes as
`bot.platform.app.send_due_followups` runs
them, back to back, with an explicit clock at 12:00 Asia/Tokyo. Timed from the first dispatch pass
until the emulator has accepted N pushes.

Baseline, measured in the same run against the same emulator: the same N pushes sent straight
through `bot.edge.line_client.LineClient` (the real line-bot-sdk client), in batches as large as the
OutboxSender claims, without any database. Read the ratio product/baseline: the absolute figures
depend on the machine. Targets: under 60 s for 10,000 and no follow-up delivered twice.

`--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres` creates and drops a
throw-away database on that server; `--dispatchers 2` (PostgreSQL) runs two dispatch loops, each
with its own engine as a second process would have, to show each follow-up still goes out once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from line_emulator.state import EmulatorState  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from benchmarks.webhook_bench import loop_factory  # noqa: E402
from bot.db.engine import make_engine, make_session_factory, transaction  # noqa: E402
from bot.db.migrations import upgrade  # noqa: E402
from bot.db.models import Conversation, OutboxMessage, OutboxStatus  # noqa: E402
from bot.edge.line_client import LineClient, Outcome  # noqa: E402
from bot.edge.outbox import claim_due  # noqa: E402
from bot.line import text as text_message  # noqa: E402
from bot.platform.app import create_app  # noqa: E402
from bot.platform.runtime import Runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handoff.followups import FollowUpRules, dispatch_due  # noqa: E402
from handoff.models import FollowUp, FollowUpState  # noqa: E402

TARGET_SECONDS = 60.0
SECRET = "bench-channel-secret"
TOKEN = "bench-channel-access-token"
KIND = "intake_stalled"
PUSH_PATH = "/v2/bot/message/push"
# The OutboxSender sends one claimed batch at a time, all of it concurrently: the baseline uses
# the same batch size, read from the product so the two cannot drift apart.
OUTBOX_BATCH = int(inspect.signature(claim_due).parameters["limit"].default)


@dataclass(frozen=True)
class Delivery:
    """What the emulator accepted during one run, and what it says about duplicates."""

    accepted: int
    duplicates_by_user: int  # each resident has exactly one follow-up: more is a duplicate
    duplicates_by_retry_key: int
    missing: int
    unexpected: int  # pushes to someone who was not seeded, or with other text
    refused: dict[int, int]  # non-200 answers to push requests, by status (409 = retry taken)

    @property
    def duplicates(self) -> int:
        return self.duplicates_by_user + self.duplicates_by_retry_key


@dataclass(frozen=True)
class Report:
    count: int
    backend: str
    dispatchers: int
    baseline_seconds: float
    baseline: Delivery
    product_seconds: float | None  # None: not everything arrived before the timeout
    dispatch_seconds: float  # until every dispatch loop found nothing more to do
    product: Delivery
    sent_per_dispatcher: list[int]
    dispatch_passes: int
    followups_sent: int
    outbox_rows: int
    outbox_sent: int
    # Accepted pushes whose X-Line-Retry-Key is not an outbox row's, plus rows never accepted.
    unmatched_retry_keys: int

    @property
    def duplicates(self) -> int:
        return self.product.duplicates

    @property
    def all_sent(self) -> bool:
        return (self.followups_sent == self.count and self.outbox_rows == self.count
                and self.outbox_sent == self.count and self.product.accepted == self.count
                and self.product.missing == 0 and self.product.unexpected == 0
                and self.unmatched_retry_keys == 0)

    @property
    def passed(self) -> bool:
        return (self.product_seconds is not None and self.product_seconds < TARGET_SECONDS
                and self.duplicates == 0 and self.all_sent)


@dataclass
class DispatchStats:
    sent: list[int] = field(default_factory=list)
    passes: int = 0


# ------------------------------------------------------------------ database


@contextlib.contextmanager
def fresh_database(server_url: str | None) -> Iterator[tuple[str, str]]:
    """An empty, migrated database: a temporary SQLite file, or a throw-away PostgreSQL
    database on `server_url`'s server (created and dropped as tests/conftest.py does)."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            yield url, "SQLite (temporary file)"
        return
    name = f"tsunagu_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url, f"PostgreSQL (throw-away database {name})"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def user_id(n: int) -> str:
    return f"U{n:032x}"  # a valid LINE user id, so the emulator accepts pushes to it


def seed(sessions: sessionmaker[Session], count: int, body: str, due_at: datetime) -> None:
    """`count` conversations (following, consent not withdrawn), each with one due follow-up."""
    with transaction(sessions) as s:
        s.execute(insert(Conversation), [
            {"line_user_id": user_id(n), "flow_id": "intake", "flow_version": "bench",
             "state": "who", "answers": {}, "consent": {}, "following": True}
            for n in range(count)])
        ids = s.execute(select(Conversation.id).order_by(Conversation.id)).scalars().all()
        s.execute(insert(FollowUp), [
            {"conversation_id": cid, "kind": KIND, "text": body, "due_at": due_at}
            for cid in ids])


def count_rows(sessions: sessionmaker[Session], model: type[Any], *where: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def bench_clock() -> datetime:
    """12:00 Asia/Tokyo tomorrow: outside quiet hours, so nothing waits for the morning.

    It is also ahead of the real clock, so follow-ups due an hour before it are due for our
    passes but not for the app's own APScheduler pass (which uses the real time): only the
    passes we time can send them.
    """
    tokyo = ZoneInfo("Asia/Tokyo")
    tomorrow = datetime.now(tokyo).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 12, tzinfo=tokyo).astimezone(UTC)


# ------------------------------------------------------------------ the emulator's view


class PushCounter:
    """Counts accepted pushes from now on, reading only the calls recorded since the last look
    (the poll shares the event loop with the app, so it must stay cheap)."""

    def __init__(self, emulator: EmulatorState) -> None:
        self.emulator = emulator
        self.start = self.seen = len(emulator.calls)
        self.count = 0

    def accepted(self) -> int:
        calls = self.emulator.calls
        self.count += sum(1 for c in calls[self.seen:] if c.path == PUSH_PATH and c.status == 200)
        self.seen = len(calls)
        return self.count


def accepted_retry_keys(emulator: EmulatorState, start: int) -> set[str]:
    return {c.retry_key or "" for c in emulator.calls[start:]
            if c.path == PUSH_PATH and c.status == 200}


def outbox_retry_keys(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as s:
        return set(s.scalars(select(OutboxMessage.retry_key)))


def delivery(emulator: EmulatorState, start: int, users: set[str],
             messages: list[dict[str, Any]]) -> Delivery:
    """Counts what the emulator accepted from call number `start` on."""
    pushes = [c for c in emulator.calls[start:] if c.path == PUSH_PATH]
    accepted = [c for c in pushes if c.status == 200]
    per_user = Counter(str(c.body.get("to")) for c in accepted)
    per_key = Counter(c.retry_key for c in accepted if c.retry_key)
    return Delivery(
        accepted=len(accepted),
        duplicates_by_user=sum(n - 1 for n in per_user.values()),
        duplicates_by_retry_key=sum(n - 1 for n in per_key.values()),
        missing=len(users - per_user.keys()),
        unexpected=sum(1 for c in accepted
                       if c.body.get("to") not in users or c.body.get("messages") != messages),
        refused=dict(Counter(c.status for c in pushes if c.status != 200)),
    )


async def wait_until(check: Callable[[], bool], within: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


# ------------------------------------------------------------------ the two measured paths


async def baseline(api_url: str, timeout_seconds: float, users: list[str],
                   messages: list[dict[str, Any]]) -> float:
    """The same pushes through the real SDK client, batch by batch like the OutboxSender."""
    line = LineClient(base_url=api_url, access_token=TOKEN, timeout_seconds=timeout_seconds)
    try:
        start = time.perf_counter()
        for i in range(0, len(users), OUTBOX_BATCH):
            results = await asyncio.gather(*(line.push(u, messages, str(uuid.uuid4()))
                                             for u in users[i:i + OUTBOX_BATCH]))
            if any(r.outcome != Outcome.SENT for r in results):
                raise RuntimeError(f"baseline push refused: {results!r}")
        return time.perf_counter() - start
    finally:
        await line.close()


async def dispatch_loop(sessions: sessionmaker[Session], rules: FollowUpRules, now: datetime,
                        wake: Callable[[], None], stats: DispatchStats, k: int) -> None:
    """`bot.platform.app.send_due_followups` with an explicit clock, pass after pass until
    nothing is
    due: each pass is one transaction in a worker thread, then the outbox is woken."""

    def one_pass() -> int:
        with transaction(sessions) as session:
            return dispatch_due(session=session, rules=rules, now=now)

    while True:
        sent = await asyncio.to_thread(one_pass)
        stats.passes += 1
        if not sent:
            return  # on PostgreSQL, rows another dispatcher has locked are that one's to send
        stats.sent[k] += sent
        wake()


# ------------------------------------------------------------------ the app on a real port


def bench_settings(database_url: str, base_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        emulator=True,
        line_channel_secret=SECRET,
        line_channel_access_token=TOKEN,
        line_api_base_url=f"{base_url}/emulator",
        line_data_api_base_url=f"{base_url}/emulator",
        session_secret=uuid.uuid4().hex,  # the console is mounted but unused here
        # The app's own follow-up job runs once at start-up, when nothing is due for the real
        # clock (see bench_clock), and not again during the run.
        followup_interval_seconds=24 * 3600.0,
    )


@contextlib.asynccontextmanager
async def serving(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """uvicorn on this event loop (so the dispatch loops can wake the outbox as the app's own
    job does), on a socket bound beforehand (the app's settings need the port)."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        if not await wait_until(lambda: server.started or task.done(), within=30):
            raise RuntimeError("the app did not start within 30 s")
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the app stopped during start-up")
        yield
    finally:
        server.should_exit = True
        await task


async def run(options: argparse.Namespace, database_url: str, backend: str) -> Report:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = bench_settings(database_url, base_url)
    app = create_app(settings)
    async with serving(app, sock):
        return await measure(options, app.state.runtime, app.state.emulator, settings,
                             database_url, backend)


async def measure(options: argparse.Namespace, runtime: Runtime, emulator: EmulatorState,
                  settings: Settings, database_url: str, backend: str) -> Report:
    count: int = options.count
    now = bench_clock()
    rules = runtime.content.followups
    body = rules.rules[KIND].text
    messages = [text_message(body)]
    users = [user_id(n) for n in range(count)]

    print(f"seeding {count} conversations, each with one due follow-up ...", flush=True)
    await asyncio.to_thread(seed, runtime.sessions, count, body, now - timedelta(hours=1))

    print(f"baseline: {count} pushes through LineClient to the emulator ...", flush=True)
    pushes = PushCounter(emulator)
    baseline_seconds = await baseline(settings.line_api_base_url,
                                      settings.line_request_timeout_seconds, users, messages)
    baseline_delivery = delivery(emulator, pushes.start, set(users), messages)

    print(f"product: {options.dispatchers} dispatch loop(s) -> outbox -> emulator ...",
          flush=True)
    # Dispatcher 0 uses the app's engine, as send_due_followups does; any other one has its
    # own engine, as a second process would.
    engines = [make_engine(database_url) for _ in range(1, options.dispatchers)]
    factories = [runtime.sessions, *(make_session_factory(e) for e in engines)]
    stats = DispatchStats(sent=[0] * len(factories))
    pushes = PushCounter(emulator)
    start = time.perf_counter()
    dispatch_seconds = -1.0

    async def dispatch_all() -> None:
        nonlocal dispatch_seconds
        await asyncio.gather(*(
            # On the app's loop, so wake_outbox may set its asyncio.Event directly.
            dispatch_loop(f, rules, now, runtime.wake_outbox, stats, k)
            for k, f in enumerate(factories)))
        dispatch_seconds = time.perf_counter() - start

    dispatching = asyncio.create_task(dispatch_all())
    try:
        arrived = await wait_until(
            lambda: pushes.accepted() >= count
            or (dispatching.done() and dispatching.exception() is not None),
            within=options.timeout)
        product_seconds = time.perf_counter() - start
        await dispatching  # raises if a dispatch pass failed
    finally:
        for engine in engines:
            engine.dispose()
    # The outbox marks a row sent just after LINE's 200; a duplicate would come after that.
    await wait_until(lambda: count_rows(runtime.sessions, OutboxMessage,
                                        OutboxMessage.status == OutboxStatus.SENT) >= count,
                     within=10, interval=0.1)
    await asyncio.sleep(1.0)
    return Report(
        count=count, backend=backend, dispatchers=options.dispatchers,
        baseline_seconds=baseline_seconds, baseline=baseline_delivery,
        product_seconds=product_seconds if arrived and pushes.accepted() >= count else None,
        dispatch_seconds=dispatch_seconds,
        product=delivery(emulator, pushes.start, set(users), messages),
        sent_per_dispatcher=stats.sent, dispatch_passes=stats.passes,
        followups_sent=count_rows(runtime.sessions, FollowUp,
                                  FollowUp.state == FollowUpState.SENT),
        outbox_rows=count_rows(runtime.sessions, OutboxMessage),
        outbox_sent=count_rows(runtime.sessions, OutboxMessage,
                               OutboxMessage.status == OutboxStatus.SENT),
        unmatched_retry_keys=len(accepted_retry_keys(emulator, pushes.start)
                                 ^ outbox_retry_keys(runtime.sessions)),
    )


# ------------------------------------------------------------------ command line


def print_report(r: Report) -> None:
    def rate(seconds: float | None) -> str:
        return f"{r.count / seconds:8.0f}/s" if seconds else "       -"

    product = f"{r.product_seconds:7.2f} s" if r.product_seconds is not None else "    n/a"
    print()
    print(f"{r.count} due follow-ups, {r.backend}, {r.dispatchers} dispatcher(s), "
          f"outbox batch {OUTBOX_BATCH}, {os.cpu_count()} CPUs")
    print(f"baseline  LineClient -> emulator          {r.baseline_seconds:7.2f} s  "
          f"{rate(r.baseline_seconds)}")
    print(f"product   dispatch -> outbox -> emulator  {product}  {rate(r.product_seconds)}"
          f"  (dispatch passes done after {r.dispatch_seconds:.2f} s, "
          f"{r.dispatch_passes} passes, sent per dispatcher {r.sent_per_dispatcher})")
    if r.product_seconds is not None:
        ratio = r.product_seconds / r.baseline_seconds
        print(f"ratio product/baseline                    {ratio:7.2f}")
    p = r.product
    print(f"emulator: {p.accepted} pushes accepted; duplicates {p.duplicates_by_user} by user, "
          f"{p.duplicates_by_retry_key} by retry key; missing {p.missing}; "
          f"unexpected {p.unexpected}; refused {p.refused or 'none'}")
    if r.baseline.duplicates or r.baseline.missing or r.baseline.refused:
        print(f"baseline delivery was not clean: {r.baseline}")
    print(f"database: follow-ups sent {r.followups_sent}/{r.count}, outbox rows "
          f"{r.outbox_rows}, outbox sent {r.outbox_sent}/{r.count}, retry keys not matching "
          f"an accepted push {r.unmatched_retry_keys}")
    print(f"target < {TARGET_SECONDS:.0f} s and 0 duplicates, all sent: "
          f"{'PASS' if r.passed else 'FAIL'}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="due follow-ups (10000)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL; a throw-away database is created on it "
                             "(default: a temporary SQLite file)")
    parser.add_argument("--dispatchers", type=int, default=1,
                        help="concurrent dispatch loops, each with its own engine (PostgreSQL)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="give up waiting for the pushes after this many seconds")
    options = parser.parse_args(argv)
    if options.count < 1 or options.dispatchers < 1:
        parser.error("--count and --dispatchers must be at least 1")
    if options.dispatchers > 1 and not str(options.database_url or "").startswith("postgresql"):
        # SQLite serves one process; FOR UPDATE SKIP LOCKED is what makes several safe.
        parser.error("--dispatchers above 1 needs --database-url postgresql+psycopg://...")
    return options


def main(argv: Sequence[str] | None = None) -> Report:
    options = parse_args(argv)
    with fresh_database(options.database_url) as (url, backend), \
            asyncio.Runner(loop_factory=loop_factory()) as runner:
        report = runner.run(run(options, url, backend))
    print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main().passed else 1)
