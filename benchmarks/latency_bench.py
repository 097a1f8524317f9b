"""Message → reply latency with concurrent residents: tsunagu against an echo bot that replies.

    python benchmarks/latency_bench.py [--residents 50] [--messages 16]
                                       [--database-url URL] [--processes N]

Each simulated resident follows the bot, then sends text messages one at a time, each only
after the bot's answer to the previous one has reached the LINE emulator (no think time: the
residents keep the bot as busy as it lets them). A latency is measured from just before the
webhook POST to the moment the emulator recorded the first message of the bot's reply.

One LINE emulator serves every bot process: the product's own (emulator/line_emulator:
EmulatorState and its Messaging API routes), hosted by this benchmark on its event loop. Hosting
it here lets the residents do what LINE does without any HTTP round trip of their own: take a
reply token the emulator will honour, sign the webhook, POST it straight to a chosen bot process
(so webhooks can be spread over several), and be woken by the emulator the moment a reply is
recorded (the subscription its SSE stream uses, without polling). It also keeps the emulator's
work out of the measured bot processes, as LINE is outside them in production.

- tsunagu: `tsunagu serve` processes (one on SQLite, in a temporary folder; with
  `--database-url`, `--processes` (2) on a throw-away PostgreSQL database, migrated with
  `tsunagu db upgrade`), all with TSUNAGU_LINE_API_BASE_URL at this one emulator; a resident's
  webhooks alternate between the processes, as a load balancer would spread them.
- baseline, measured in the same run against the same emulator: the echo bot of
  webhook_bench.py (WebhookParser, then an immediate reply through line-bot-sdk's async client),
  as many processes as tsunagu has. The ratio shows what the product's storage and flow add.

Residents answer the intake by typing its button labels, then write free text to the opened
case. Target: tsunagu's p95 text → reply latency at most 2x the echo bot's with 50 residents.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from line_emulator import events as line_events  # noqa: E402
from line_emulator import mount_emulator  # noqa: E402
from line_emulator.state import EmulatorState  # noqa: E402

from benchmarks.webhook_bench import (  # noqa: E402
    HOST,
    SECRET,
    TOKEN,
    Client,
    Database,
    Server,
    add_server_options,
    fresh_database,
    loop_factory,
    new_users,
    percentile,
    start_echo,
    start_tsunagu,
    stopping,
)

P95_RATIO_TARGET = 2.0  # tsunagu's p95 over the echo bot's, in the same run
# The intake answered by typing its button labels (each moves the flow on; the last one opens
# a case), then words for the counsellor (forwarded to the case).
INTAKE = (
    "家賃が払えなくて困っています",
    "自分のこと",
    "お金・生活費",
    "住まい",
    "選び終わった",
    "どれもない",
    "みどり市",
    "このままでよい",
    "40代",
    "このLINEで",
    "平日の昼",
    "同意する",
)
FREE_TEXT = ("よろしくお願いします", "仕事も探しています", "来月の家賃も心配です")


def script(messages: int) -> list[str]:
    """What each resident types after following: the intake, then free text."""
    return [INTAKE[i] if i < len(INTAKE) else FREE_TEXT[(i - len(INTAKE)) % len(FREE_TEXT)]
            for i in range(messages)]


# ------------------------------------------------------------------ the emulator, hosted here


@contextlib.asynccontextmanager
async def hosted_emulator() -> AsyncIterator[tuple[EmulatorState, str]]:
    """The product's LINE emulator served by uvicorn on this event loop; (state, API base URL)."""
    app = FastAPI()
    state = mount_emulator(app, channel_secret=SECRET, access_token=TOKEN)
    sock = socket.socket()
    sock.bind((HOST, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            await asyncio.sleep(0.02)
        yield state, f"http://{HOST}:{sock.getsockname()[1]}/emulator"
    finally:
        server.should_exit = True
        await task
        sock.close()


# ------------------------------------------------------------------ residents


@dataclass(frozen=True)
class Exchange:
    kind: str  # "follow" | "text"
    process: int  # which bot process got the webhook
    ack_status: int  # the webhook's HTTP status (0: no answer)
    ack_seconds: float
    reply_seconds: float | None  # None: no reply within the timeout


class Resident:
    """A LINE user as the emulator's page makes one: the emulator issues each reply token and
    shows what the resident did on their chat screen before the webhook goes out."""

    def __init__(self, emulator: EmulatorState, user_id: str) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.subscriber, _ = emulator.subscribe(user_id)  # before anything can be delivered
        self.own_entries = 0  # what the resident did, as seen on the stream so far

    def follow(self) -> dict[str, Any]:
        token = self.emulator.issue_reply_token(self.user_id)
        self.emulator.set_blocked(self.user_id, False)
        self.emulator.append(self.user_id, "system", {"type": "follow", "isUnblocked": False},
                             "system")
        return line_events.follow_event(self.user_id, reply_token=token)

    def text(self, words: str) -> dict[str, Any]:
        token = self.emulator.issue_reply_token(self.user_id)
        self.emulator.append(self.user_id, "resident", {"type": "text", "text": words},
                             "resident")
        return line_events.text_event(self.user_id, words, reply_token=token)

    async def reply_to(self, nth: int, within: float) -> float | None:
        """When (emulator clock) the first reply message after the resident's `nth` action
        was recorded, or None. Later messages of an earlier answer (the push that follows a
        reply of more than five) come before the resident's next action on the stream, so
        they are passed over, never taken for the answer to the next message."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                item = await asyncio.wait_for(self.subscriber.queue.get(), left)
            except TimeoutError:
                return None
            if item.get("event") != "entry":
                continue  # the loading animation
            entry = item["data"]
            if entry["sender"] in ("resident", "system"):
                self.own_entries += 1
            elif self.own_entries == nth and entry["via"] == "reply":
                return float(entry["time"])

    def close(self) -> None:
        self.emulator.unsubscribe(self.subscriber)


async def converse(resident: Resident, index: int, targets: Sequence[Server], client: Client,
                   words: Sequence[str], within: float) -> list[Exchange]:
    """Follow, then each text, one at a time, waiting for the bot's reply in between."""
    exchanges = []
    try:
        for nth, text in enumerate([None, *words], start=1):
            process = (index + nth) % len(targets)  # spread over the processes
            event = resident.follow() if text is None else resident.text(text)
            signed = line_events.signed_webhook([event], secret=SECRET,
                                                destination=resident.emulator.bot_user_id)
            posted, started = time.time(), time.perf_counter()
            status = await client.post(targets[process].webhook_url, signed)
            acked = time.perf_counter() - started
            replied = await resident.reply_to(nth, within) if status == 200 else None
            exchanges.append(Exchange("follow" if text is None else "text", process, status,
                                      acked, None if replied is None else replied - posted))
            if replied is None:
                break  # a later reply could be taken for the next message's: stop here
    finally:
        resident.close()
    return exchanges


@dataclass
class Run:
    """All residents against one bot (one or more processes)."""

    bot: str
    processes: int
    residents: int
    messages: int  # texts per resident
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0
    bot_cpu: list[float | None] = field(default_factory=list)  # per process, seconds
    bench_cpu: float = 0.0  # this process: residents and the emulator
    client_errors: Counter[str] = field(default_factory=Counter)  # webhooks with no answer

    @property
    def expected(self) -> int:
        return self.residents * (1 + self.messages)

    def latencies(self, kind: str) -> list[float]:
        return [e.reply_seconds for e in self.exchanges
                if e.kind == kind and e.reply_seconds is not None]

    def ms(self, kind: str, pct: float) -> float:
        return percentile(self.latencies(kind), pct) * 1000

    @property
    def acknowledged(self) -> int:
        return sum(1 for e in self.exchanges if e.ack_status == 200)

    @property
    def answered(self) -> int:
        return sum(1 for e in self.exchanges if e.reply_seconds is not None)

    @property
    def complete(self) -> bool:
        return self.acknowledged == self.answered == self.expected

    @property
    def per_process(self) -> Counter[int]:
        return Counter(e.process for e in self.exchanges)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


async def run_residents(bot: str, targets: Sequence[Server], emulator: EmulatorState,
                        options: argparse.Namespace) -> Run:
    # Warm-up, not counted: connections, first-use imports, the tokenizer's dictionary.
    warm = [Resident(emulator, u) for u in new_users(len(targets))]
    async with Client(options.client, len(warm)) as client:
        await asyncio.gather(*(converse(r, i, targets, client, script(3), options.reply_timeout)
                               for i, r in enumerate(warm)))
    run = Run(bot, len(targets), options.residents, options.messages)
    words = script(options.messages)
    residents = [Resident(emulator, u) for u in new_users(options.residents)]
    cpu_before = [t.cpu_seconds() for t in targets]
    bench_before, start = time.process_time(), time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        # A client (one keep-alive connection per process) per resident: one pool shared by
        # all would cost httpx far more per request (see webhook_bench.Client).
        clients = [await stack.enter_async_context(Client(options.client, len(targets)))
                   for _ in residents]
        results = await asyncio.gather(*(
            converse(r, i, targets, clients[i], words, options.reply_timeout)
            for i, r in enumerate(residents)))
        for client in clients:
            run.client_errors.update(client.errors)
    run.seconds = time.perf_counter() - start
    run.bench_cpu = time.process_time() - bench_before
    for target, before in zip(targets, cpu_before, strict=True):
        after = target.cpu_seconds()
        run.bot_cpu.append(after - before if after is not None and before is not None else None)
    run.exchanges = [e for result in results for e in result]
    return run


# ------------------------------------------------------------------ report


@dataclass
class Report:
    backend: str
    baseline: Run
    product: Run
    stored: int  # inbox rows in tsunagu's database, beyond the warm-up's
    failed: int  # inbox events or outbox rows given up
    stages: dict[str, list[float]] = field(default_factory=dict)  # Database.stages, texts

    @property
    def ratio(self) -> float:
        base = self.baseline.ms("text", 95)
        return self.product.ms("text", 95) / base if base else math.nan

    @property
    def complete(self) -> bool:
        return (self.baseline.complete and self.product.complete and self.failed == 0
                and self.stored == self.product.expected)

    @property
    def latency_passed(self) -> bool:
        return self.ratio <= P95_RATIO_TARGET

    @property
    def passed(self) -> bool:
        return self.latency_passed and self.complete


def print_report(r: Report) -> None:
    print()
    print(f"message -> reply at the emulator, {r.product.residents} residents, each: follow + "
          f"{r.product.messages} texts one at a time; tsunagu on {r.backend}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'':34} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  {'answered':>9}  "
          f"{'replies/s':>9}  {'bot CPU ms/msg':>14}  {'bench CPU':>9}")
    for run in (r.baseline, r.product):
        cpu = [c for c in run.bot_cpu if c is not None]
        per_msg = f"{sum(cpu) * 1000 / len(run.exchanges):14.2f}" if cpu and run.exchanges \
            else f"{'-':>14}"
        bench = f"{run.bench_cpu * 1000 / len(run.exchanges):6.2f} ms" if run.exchanges else "-"
        for kind in ("text", "follow"):
            label = f"{run.bot} x{run.processes}, {kind}"
            sent = sum(1 for e in run.exchanges if e.kind == kind)
            print(f"{label:34} {run.ms(kind, 50):7.1f} {run.ms(kind, 95):7.1f} "
                  f"{run.ms(kind, 99):7.1f} {run.ms(kind, 100):7.1f}  "
                  f"{len(run.latencies(kind)):4}/{sent:<4}"
                  + (f"  {run.rate:9.0f}  {per_msg}  {bench:>9}" if kind == "text" else ""))
        spread = ", ".join(f"{n}" for _, n in sorted(run.per_process.items()))
        statuses = Counter(e.ack_status for e in run.exchanges if e.ack_status != 200)
        refused = f" (not 200: {dict(statuses)}, 0 = no answer: {dict(run.client_errors)})" \
            if statuses else ""
        print(f"{'':34} webhooks per process: {spread}; acknowledged {run.acknowledged}/"
              f"{run.expected}{refused}; {run.seconds:.1f} s")
    print(f"tsunagu stored {r.stored}/{r.product.expected} events; given up: {r.failed}")
    if r.stages:
        # Where a text's time went inside tsunagu, by its own clock (the rest: the webhook
        # request, and the emulator recording the reply).
        parts = [f"{name} p50 {percentile(values, 50) * 1000:.1f} ms, p95 "
                 f"{percentile(values, 95) * 1000:.1f} ms" for name, values in r.stages.items()]
        print(f"inside tsunagu (texts): {'; '.join(parts)}")
    print()
    print(f"p95 text -> reply: tsunagu {r.product.ms('text', 95):.1f} ms, echo bot "
          f"{r.baseline.ms('text', 95):.1f} ms, ratio {r.ratio:.1f} (target ratio <= "
          f"{P95_RATIO_TARGET:.0f}): {'PASS' if r.latency_passed else 'FAIL'}")
    print(f"every webhook acknowledged and every message answered: "
          f"{'yes' if r.complete else 'NO'}")


def summary(r: Report) -> dict[str, Any]:
    """The headline figures, for run_all.py."""
    return {
        "backend": r.backend, "processes": r.product.processes,
        "residents": r.product.residents,
        "echo_p50_ms": r.baseline.ms("text", 50), "echo_p95_ms": r.baseline.ms("text", 95),
        "tsunagu_p50_ms": r.product.ms("text", 50), "tsunagu_p95_ms": r.product.ms("text", 95),
        "ratio": r.ratio, "complete": r.complete, "passed": r.passed,
    }


# ------------------------------------------------------------------ the run


async def measure(options: argparse.Namespace, url: str, backend: str, workdir: Path) -> Report:
    async with hosted_emulator() as (emulator, api_url):
        with stopping([]) as echoes:
            for n in range(options.processes):
                echoes.append(await asyncio.to_thread(
                    start_echo, f"echo-{n + 1}", workdir, api_url=api_url))
            print(f"baseline: {options.residents} residents -> {len(echoes)} echo bot "
                  "process(es) -> emulator ...", flush=True)
            baseline = await run_residents("echo bot", echoes, emulator, options)
        with stopping([]) as bots:
            # One after the other: the first start publishes the content release.
            for n in range(options.processes):
                bots.append(await asyncio.to_thread(
                    start_tsunagu, f"tsunagu-{n + 1}", url, workdir, api_url=api_url,
                    worker_process=str(options.worker_process).lower()))
            print(f"tsunagu: {options.residents} residents -> {len(bots)} tsunagu process(es) "
                  f"({backend}) -> emulator ...", flush=True)
            try:
                product = await run_residents("tsunagu", bots, emulator, options)
            except BaseException:
                print_logs(bots)
                raise
            if not product.complete:
                print_logs(bots)  # what went wrong, before the folder goes
            database = Database(url)
            warmed = options.processes * 4  # the warm-up residents' follow and three texts
            try:
                backlog = await asyncio.to_thread(database.backlog)
                stages = await asyncio.to_thread(database.stages, after_id=warmed)
            finally:
                database.close()
    return Report(backend=backend, baseline=baseline, product=product,
                  stored=backlog.stored - warmed, failed=backlog.failed + backlog.outbox_failed,
                  stages=stages)


def print_logs(servers: Sequence[Server]) -> None:
    for server in servers:
        print(f"--- {server.name} log (last lines)\n{server.log_tail()}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=50, help="concurrent residents (50)")
    parser.add_argument("--messages", type=int, default=16,
                        help="texts per resident after the follow (16)")
    add_server_options(parser)
    parser.add_argument("--processes", type=int, default=None,
                        help="tsunagu (and echo bot) processes: 1 on SQLite, 2 on PostgreSQL")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the residents' HTTP client (aiohttp; see webhook_bench.Client)")
    parser.add_argument("--reply-timeout", type=float, default=60.0,
                        help="give up on a reply after this many seconds (60)")
    options = parser.parse_args(argv)
    postgres = str(options.database_url or "").startswith("postgresql")
    if options.processes is None:
        options.processes = 2 if postgres else 1
    if options.residents < 1 or options.messages < 0 or options.processes < 1:
        parser.error("--residents and --processes must be at least 1, --messages at least 0")
    if options.processes > 1 and not postgres:
        # SQLite serves one process; several need PostgreSQL's locks.
        parser.error("--processes above 1 needs --database-url postgresql+psycopg://...")
    return options


def main(argv: Sequence[str] | None = None) -> Report:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tsunagu-latency-bench-") as tmp, \
            fresh_database(options.database_url, Path(tmp)) as (url, backend), \
            asyncio.Runner(loop_factory=loop_factory()) as runner:
        report = runner.run(measure(options, url, backend, Path(tmp)))
    print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main().passed else 1)
