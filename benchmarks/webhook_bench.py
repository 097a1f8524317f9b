"""Webhook ingest: tsunagu against a bare line-bot-sdk + FastAPI echo bot, each in its own process.

    python benchmarks/webhook_bench.py [--requests N] [--concurrency C] [--rate R] [--seconds S]
                                       [--database-url URL]

Two servers on this machine, each a separate process served by uvicorn the same way:
- tsunagu: `tsunagu serve` (the whole product: webhook, inbox worker, outbox, follow-up and
  retention jobs) on a fresh database, with a test channel secret and token and its LINE API
  pointing at the product's LINE emulator run in a third process, standing for LINE
  (its answers are pushed: TSUNAGU_REPLY_TOKEN_TTL_SECONDS=0, as that emulator never issued
  the load's reply tokens); `--worker-process` runs it with TSUNAGU_WORKER_PROCESS=true;
- the baseline: `echo_app` below, a minimal FastAPI app that verifies the signature and parses
  the body with linebot.v3.WebhookParser and answers 200 (nothing stored, nothing sent).

Load: signed one-event text-message webhooks as LINE posts them
(emulator/line_emulator/events.py builds them in LINE's format; see
shared/line-spec/webhook.yml), from an async HTTP client in this process (aiohttp by default,
`--client httpx` for httpx: see `Client` for why), prepared (signed) before each timed phase:
(a) throughput: `--requests` webhooks with `--concurrency` in flight, `--rounds` rounds that
    alternate echo bot and tsunagu so both see the machine at the same moment;
(b) open loop: `--rate` webhooks per second for `--seconds`, each sent at its scheduled time
    whatever happened to the earlier ones; its acknowledgement latency is counted from that
    time, so a stalled client or server cannot hide its own delay.

Between phases the benchmark waits until tsunagu has processed and answered everything it
accepted (read from its database), so each phase starts with an idle process; the events
tsunagu accepts during a phase are processed by its worker during that phase, as in production.

Read the ratios: absolute figures depend on the machine. Targets: tsunagu's throughput at
least 0.9x the echo bot's, and its p99 acknowledgement latency at most 50 ms at 100 events/s.

`--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres` runs tsunagu on a
throw-away database created on that server (migrated with `tsunagu db upgrade`, then dropped).

latency_bench.py reuses the process helpers and the echo bot (which can also reply) from here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only what the echo bot needs at module level: its process imports this module, and a bare
# bot must not load the product (bot.*), which the benchmark side imports where it uses it.
import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from linebot.v3 import WebhookParser  # noqa: E402
from linebot.v3.exceptions import InvalidSignatureError  # noqa: E402

SECRET = "bench-channel-secret"
TOKEN = "bench-channel-access-token"
THROUGHPUT_RATIO_TARGET = 0.9
P99_TARGET_MS = 50.0
HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0
# uvicorn closes a connection idle for 5 s; a client that reuses one at that moment gets no
# answer (a lost webhook the servers never saw as such), so the client lets them go sooner.
KEEPALIVE_SECONDS = 3.0
# What residents type: free text and the intake's own button labels, so the worker runs the
# flow (and the risk analysis) as it does for real messages.
TEXTS = (
    "家賃が払えなくて困っています",
    "自分のこと",
    "お金・生活費",
    "仕事をなくして、来月の生活費がありません",
    "選び終わった",
    "どれもない",
    "みどり市",
    "よろしくお願いします",
)


# ------------------------------------------------------------------ the baseline bot


def echo_app(secret: str, *, api_url: str | None = None, access_token: str = "") -> FastAPI:
    """The bare bot: WebhookParser verifies and parses, the answer is 200.

    With `api_url` it also answers each follow and text message at once through the real
    line-bot-sdk async client (a follow gets a greeting, a text its own words back); the reply
    runs as a task, so the 200 does not wait for it (as tsunagu's does not).
    """
    from linebot.v3.messaging import (
        AsyncApiClient,
        AsyncMessagingApi,
        Configuration,
        ReplyMessageRequest,
        TextMessage,
    )
    from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent

    parser = WebhookParser(secret)
    clients: list[AsyncApiClient] = []
    replying: set[asyncio.Task[Any]] = set()  # a running task must stay referenced

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if api_url:
            clients.append(AsyncApiClient(Configuration(host=api_url, access_token=access_token)))
        yield
        for client in clients:
            await client.close()

    app = FastAPI(lifespan=lifespan)

    async def reply(token: str, text: str) -> None:
        api = AsyncMessagingApi(clients[0])
        await api.reply_message(ReplyMessageRequest(reply_token=token,
                                                    messages=[TextMessage(text=text)]))

    @app.post("/line/webhook")
    async def webhook(request: Request) -> JSONResponse:
        signature = request.headers.get("x-line-signature", "")
        body = (await request.body()).decode("utf-8")
        try:
            parsed = parser.parse(body, signature)
        except InvalidSignatureError:
            return JSONResponse({"message": "invalid signature"}, status_code=400)
        for event in parsed if clients else ():
            text = None
            if isinstance(event, FollowEvent):
                text = "友だち追加ありがとうございます"
            elif isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                text = event.message.text
            if text and event.reply_token:
                task = asyncio.create_task(reply(event.reply_token, text))
                replying.add(task)
                task.add_done_callback(replying.discard)
        return JSONResponse({})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def run_echo_bot() -> None:
    """Entry point of the echo bot's process; settings come from the environment."""
    app = echo_app(os.environ["BENCH_ECHO_SECRET"], api_url=os.environ.get("BENCH_ECHO_API_URL"),
                   access_token=os.environ.get("BENCH_ECHO_TOKEN", ""))
    # As bot/platform/cli.py runs tsunagu: uvicorn's defaults (uvloop, httptools), no access log.
    uvicorn.run(app, host=HOST, port=int(os.environ["BENCH_ECHO_PORT"]), log_level="info",
                access_log=False)


# ------------------------------------------------------------------ server processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU so far of a process, its threads and its running child processes (a
    worker process started by `tsunagu serve`), from Linux's /proc."""
    fields = _stat(pid)
    if fields is None:
        return None
    ticks = int(fields[11]) + int(fields[12])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            child = _stat(int(entry.name))
            if child is not None and child[1] == str(pid):  # its parent is `pid`
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One server process started by this benchmark (and only ever stopped by it, by pid)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/line/webhook"

    def cpu_seconds(self) -> float | None:
        return _cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, within: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + within
        with httpx.Client(trust_env=False, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {within:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _clean_environment() -> dict[str, str]:
    # The servers get exactly the settings below, not a developer's TSUNAGU_* or a proxy.
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TSUNAGU_", "BENCH_")) and "proxy" not in k.lower()}


def tsunagu_command(*args: str) -> list[str]:
    """`tsunagu ARGS` from this interpreter's environment (the console script, else -m)."""
    script = Path(sys.executable).parent / "tsunagu"
    module = [sys.executable, "-m", "bot.platform.cli"]
    return [str(script), *args] if script.exists() else [*module, *args]


def tsunagu_environment(database_url: str, *, api_url: str | None = None,
                        **settings: str) -> dict[str, str]:
    env = _clean_environment()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({
        "TSUNAGU_DATABASE_URL": database_url,
        # No TSUNAGU_EMULATOR: `tsunagu serve` never runs the emulator beside a channel secret.
        "TSUNAGU_LINE_CHANNEL_SECRET": SECRET,
        "TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "TSUNAGU_SESSION_SECRET": uuid.uuid4().hex,  # the console is mounted but unused here
    })
    if api_url:
        env["TSUNAGU_LINE_API_BASE_URL"] = env["TSUNAGU_LINE_DATA_API_BASE_URL"] = api_url
    env.update({f"TSUNAGU_{k.upper()}": v for k, v in settings.items()})
    return env


def _spawn(name: str, command: list[str], env: dict[str, str], port: int, workdir: Path) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        # cwd: a scratch folder, so no .env of the repository is read.
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Server(name=name, url=f"http://{HOST}:{port}", process=process, log_path=log_path)


def start_tsunagu(name: str, database_url: str, workdir: Path, *, api_url: str,
                  **settings: str) -> Server:
    """`tsunagu serve` on a free port, answering through the LINE emulator at `api_url`."""
    port = free_port()
    env = tsunagu_environment(database_url, api_url=api_url, **settings)
    server = _spawn(name, tsunagu_command("serve", "--host", HOST, "--port", str(port)), env,
                    port, workdir)
    server.wait_ready()
    return server


def start_echo(name: str, workdir: Path, *, api_url: str | None = None) -> Server:
    """The echo bot in its own interpreter; with `api_url` it replies through that API."""
    port = free_port()
    env = _clean_environment()
    env.update({"BENCH_ECHO_SECRET": SECRET, "BENCH_ECHO_PORT": str(port),
                "BENCH_ECHO_TOKEN": TOKEN})
    if api_url:
        env["BENCH_ECHO_API_URL"] = api_url
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks.webhook_bench import run_echo_bot; run_echo_bot()")
    server = _spawn(name, [sys.executable, "-c", code], env, port, workdir)
    server.wait_ready()
    return server


def run_emulator() -> None:
    """Entry point of a LINE emulator's own process (emulator/line_emulator, nothing else),
    standing for LINE: the bot under test sends its answers there, and that work stays out of its
    process, as LINE's does in production."""
    from line_emulator import mount_emulator

    app = FastAPI()
    mount_emulator(app, channel_secret=SECRET, access_token=TOKEN)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host=HOST, port=int(os.environ["BENCH_EMULATOR_PORT"]),
                log_level="warning", access_log=False)


def start_emulator(workdir: Path) -> Server:
    port = free_port()
    env = _clean_environment()
    env["BENCH_EMULATOR_PORT"] = str(port)
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks.webhook_bench import run_emulator; run_emulator()")
    server = _spawn("LINE emulator", [sys.executable, "-c", code], env, port, workdir)
    server.wait_ready()
    return server


@contextlib.contextmanager
def stopping(servers: list[Server]) -> Iterator[list[Server]]:
    """Stops every server in the list on the way out, even after a failure."""
    try:
        yield servers
    finally:
        for server in reversed(servers):
            server.stop()


@contextlib.contextmanager
def fresh_database(server_url: str | None, workdir: Path) -> Iterator[tuple[str, str]]:
    """(url, description): a SQLite file in `workdir` (tsunagu migrates it on start), or a
    throw-away PostgreSQL database on `server_url`'s server, created and dropped as
    tests/conftest.py does and migrated by `tsunagu db upgrade`."""
    if server_url is None:
        yield f"sqlite:///{workdir}/bench.db", "SQLite (temporary file)"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tsunagu_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        subprocess.run(tsunagu_command("db", "upgrade"), env=tsunagu_environment(url),
                       cwd=workdir, check=True, stdout=subprocess.DEVNULL)
        yield url, f"PostgreSQL (throw-away database {name})"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------ what tsunagu has done


@dataclass(frozen=True)
class Backlog:
    stored: int  # inbox rows
    pending: int  # inbox rows not processed yet
    failed: int  # inbox rows given up
    unsent: int  # outbox rows not yet accepted by the emulator (pending or sending)
    outbox_failed: int

    @property
    def idle(self) -> bool:
        return self.pending == 0 and self.unsent == 0


class Database:
    """Reads tsunagu's database from the benchmark's side (counts only)."""

    def __init__(self, url: str) -> None:
        from bot.db.engine import make_engine

        self.engine = make_engine(url)

    def backlog(self) -> Backlog:
        from sqlalchemy import func, select

        from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus

        with self.engine.connect() as conn:
            inbox = dict(conn.execute(select(InboxEvent.status, func.count())
                                      .group_by(InboxEvent.status)).all())
            outbox = dict(conn.execute(select(OutboxMessage.status, func.count())
                                       .group_by(OutboxMessage.status)).all())
        return Backlog(
            stored=sum(inbox.values()),
            pending=inbox.get(InboxStatus.PENDING, 0),
            failed=inbox.get(InboxStatus.FAILED, 0),
            unsent=outbox.get(OutboxStatus.PENDING, 0) + outbox.get(OutboxStatus.SENDING, 0),
            outbox_failed=outbox.get(OutboxStatus.FAILED, 0),
        )

    def stages(self, *, after_id: int = 0) -> dict[str, list[float]]:
        """Seconds each text event spent in tsunagu's stages, from its own timestamps:
        "inbox" (stored until processed: waiting for and running the worker) and "outbox"
        (processed until its first answer was recorded as sent: waiting for a sender pass and
        LINE's answer). Events with id above `after_id` (to leave a warm-up out)."""
        from sqlalchemy import func, select

        from bot.db.models import InboxEvent, OutboxMessage

        first_sent = (select(OutboxMessage.source_event_id,
                             func.min(OutboxMessage.sent_at).label("sent_at"))
                      .group_by(OutboxMessage.source_event_id).subquery())
        stmt = (select(InboxEvent.received_at, InboxEvent.processed_at, first_sent.c.sent_at)
                .join(first_sent, first_sent.c.source_event_id == InboxEvent.id)
                .where(InboxEvent.id > after_id, InboxEvent.event_type == "message",
                       InboxEvent.processed_at.is_not(None), first_sent.c.sent_at.is_not(None)))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return {"inbox": [(done - got).total_seconds() for got, done, _ in rows],
                "outbox": [(sent - done).total_seconds() for _, done, sent in rows]}

    def last_event_id(self) -> int:
        from sqlalchemy import func, select

        from bot.db.models import InboxEvent

        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.max(InboxEvent.id), 0))) or 0)

    async def wait_idle(self, within: float) -> tuple[Backlog, float]:
        """Waits until every stored event is processed and its answer sent; (backlog, s)."""
        start = time.perf_counter()
        deadline = start + within
        while True:
            backlog = await asyncio.to_thread(self.backlog)
            if backlog.idle or time.perf_counter() >= deadline:
                return backlog, time.perf_counter() - start
            await asyncio.sleep(0.1)

    def close(self) -> None:
        self.engine.dispose()


# ------------------------------------------------------------------ load


Signed = tuple[bytes, dict[str, str]]


def signed_text_webhooks(count: int, users: Sequence[str]) -> list[Signed]:
    """`count` one-event webhooks, each a new text message (own webhookEventId, message id and
    reply token) from the next user in turn, signed with the channel secret."""
    from line_emulator import events as line_events

    out = []
    for i in range(count):
        event = line_events.text_event(users[i % len(users)], TEXTS[i % len(TEXTS)])
        out.append(line_events.signed_webhook([event], secret=SECRET))
    return out


def new_users(count: int) -> list[str]:
    return ["U" + secrets.token_hex(16) for _ in range(count)]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a real observation)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass
class Load:
    """One timed phase against one server."""

    server: str
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no HTTP answer
    latencies: list[float] = field(default_factory=list)  # seconds, per request
    seconds: float = 0.0
    server_cpu: float | None = None
    client_cpu: float = 0.0
    max_start_lag: float = 0.0  # open loop: how late the client started a request

    @property
    def acknowledged(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def throughput(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000

    def cpu_ms_per_request(self, cpu: float | None) -> str:
        return f"{cpu * 1000 / self.sent:5.2f}" if cpu is not None and self.sent else "    -"


class Client:
    """POSTs signed webhooks over keep-alive connections: aiohttp (the default) or httpx.

    On the 2-core machine httpx costs the client 2-8 ms of CPU per request (more the more
    connections share one pool; over 1 ms of it is httpcore's failed `import sniffio`, see
    below), aiohttp about 0.5 ms. With httpx the load generator, not the echo bot, sets the
    baseline (about 250 requests/s instead of about 1,000), which would flatter every ratio;
    `--client httpx` is there to check that claim. The client CPU column shows what it cost.
    """

    def __init__(self, kind: str, connections: int) -> None:
        self.kind = kind
        self.errors: Counter[str] = Counter()  # requests that got no HTTP answer, by error
        self._httpx: httpx.AsyncClient | None = None
        self._aiohttp: Any = None
        if kind == "httpx":
            spare_httpcore_a_failed_import()
            # trust_env=False: no proxy from the environment between us and localhost.
            self._httpx = httpx.AsyncClient(
                trust_env=False, timeout=30.0,
                limits=httpx.Limits(max_connections=connections,
                                    max_keepalive_connections=connections,
                                    keepalive_expiry=KEEPALIVE_SECONDS))
        elif kind == "aiohttp":
            import aiohttp

            self._aiohttp = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=connections,
                                               keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=aiohttp.ClientTimeout(total=30.0))
        else:
            raise ValueError(f"unknown client {kind!r}")

    async def post(self, url: str, signed: Signed) -> int:
        """The HTTP status, or 0 if no answer came."""
        body, headers = signed
        if self._httpx is not None:
            try:
                return (await self._httpx.post(url, content=body, headers=headers)).status_code
            except httpx.HTTPError as e:
                self.errors[type(e).__name__] += 1
                return 0
        import aiohttp

        try:
            async with self._aiohttp.post(url, data=body, headers=headers) as response:
                await response.read()
                return int(response.status)
        except (aiohttp.ClientError, TimeoutError) as e:
            self.errors[type(e).__name__] += 1
            return 0

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._aiohttp is not None:
            await self._aiohttp.close()


def spare_httpcore_a_failed_import() -> None:
    """httpcore asks sniffio which event loop is running several times per request; anyio
    4.16 no longer installs sniffio, so every ask is a failed import that searches sys.path
    (about 0.2 ms each here, over 1 ms per request). A stand-in that answers "asyncio" (the
    only loop this client runs on) keeps the load generator from mostly measuring that."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("sniffio")
        stand_in.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = stand_in


@contextlib.contextmanager
def _accounting(load: Load, server: Server) -> Iterator[None]:
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    start = time.perf_counter()
    yield
    load.seconds = time.perf_counter() - start
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        load.server_cpu = cpu_after - cpu_before
    load.client_cpu = time.process_time() - client_before


async def closed_loop(client: Client, server: Server, requests: list[Signed],
                      concurrency: int) -> Load:
    """All `requests`, `concurrency` at a time, each sender posting its next as soon as the
    previous one is answered: the most the server (or this client) can take."""
    load = Load(server.name, sent=len(requests))
    queue = iter(requests)  # shared by the senders; one event loop, so no lock is needed

    async def sender() -> None:
        for signed in queue:
            start = time.perf_counter()
            status = await client.post(server.webhook_url, signed)
            load.latencies.append(time.perf_counter() - start)
            load.statuses[status] += 1

    with _accounting(load, server):
        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return load


async def open_loop(client: Client, server: Server, requests: list[Signed],
                    rate: float) -> Load:
    """Request i is sent at start + i/rate, whether or not earlier ones were answered; its
    latency counts from that scheduled moment (no coordinated omission)."""
    load = Load(server.name, sent=len(requests))

    async def one(signed: Signed, due: float) -> None:
        load.max_start_lag = max(load.max_start_lag, time.perf_counter() - due)
        status = await client.post(server.webhook_url, signed)
        load.latencies.append(time.perf_counter() - due)
        load.statuses[status] += 1

    with _accounting(load, server):
        start = time.perf_counter() + 0.01
        tasks = []
        for i, signed in enumerate(requests):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(signed, due)))
        await asyncio.gather(*tasks)
    return load


# ------------------------------------------------------------------ the run


@dataclass
class Report:
    backend: str
    requests: int
    concurrency: int
    rate: float
    rounds_echo: list[Load]
    rounds_tsunagu: list[Load]
    open_echo: Load
    open_tsunagu: Load
    sent_to_tsunagu: int  # every webhook tsunagu was sent, warm-up included
    backlog: Backlog  # tsunagu's database at the end
    drain_seconds: list[float]  # per phase: from its start until everything was answered

    @property
    def throughput_ratio(self) -> float:
        """Median over rounds of tsunagu's throughput / the echo bot's in the same round."""
        return statistics.median(t.throughput / e.throughput if e.throughput else 0.0
                                 for e, t in zip(self.rounds_echo, self.rounds_tsunagu,
                                                 strict=True))

    @property
    def loads(self) -> list[Load]:
        return [*self.rounds_echo, *self.rounds_tsunagu, self.open_echo, self.open_tsunagu]

    @property
    def all_acknowledged(self) -> bool:
        return all(load.acknowledged == load.sent for load in self.loads)

    @property
    def all_stored_and_answered(self) -> bool:
        """tsunagu stored every webhook's event, processed each and sent every answer."""
        b = self.backlog
        return (b.stored == self.sent_to_tsunagu and b.idle and b.failed == 0
                and b.outbox_failed == 0)

    @property
    def throughput_passed(self) -> bool:
        return self.throughput_ratio >= THROUGHPUT_RATIO_TARGET

    @property
    def latency_passed(self) -> bool:
        return self.open_tsunagu.ms(99) <= P99_TARGET_MS

    @property
    def passed(self) -> bool:
        return (self.throughput_passed and self.latency_passed and self.all_acknowledged
                and self.all_stored_and_answered)


async def measure(options: argparse.Namespace, echo: Server, tsunagu: Server,
                  database: Database, backend: str) -> Report:
    users = new_users(options.users)
    drains: list[float] = []
    sent_to_tsunagu = 0

    async def settle(label: str, started: float) -> None:
        backlog, _ = await database.wait_idle(options.drain_timeout)
        drains.append(time.perf_counter() - started)
        if not backlog.idle:
            print(f"  tsunagu still busy {options.drain_timeout:.0f} s after {label}: {backlog}",
                  flush=True)

    async with Client(options.client, options.concurrency) as closed, \
            Client(options.client, options.connections) as opened:
        # Warm-up (excluded): connections, first-use imports, the tokenizer, SQLite pages.
        for server in (echo, tsunagu):
            warm = signed_text_webhooks(options.warmup, users)
            await closed_loop(closed, server, warm, options.concurrency)
        sent_to_tsunagu += options.warmup
        await settle("the warm-up", time.perf_counter())
        drains.clear()

        rounds_echo: list[Load] = []
        rounds_tsunagu: list[Load] = []
        for n in range(options.rounds):
            for server, results in ((echo, rounds_echo), (tsunagu, rounds_tsunagu)):
                batch = signed_text_webhooks(options.requests, users)
                started = time.perf_counter()
                load = await closed_loop(closed, server, batch, options.concurrency)
                results.append(load)
                print(f"  round {n + 1} {server.name:8} {load.throughput:7.0f}/s  "
                      f"p50 {load.ms(50):6.1f} ms  p99 {load.ms(99):6.1f} ms", flush=True)
                if server is tsunagu:
                    sent_to_tsunagu += len(batch)
                    await settle(f"round {n + 1}", started)

        count = round(options.rate * options.seconds)
        open_loads = []
        for server in (echo, tsunagu):
            batch = signed_text_webhooks(count, users)
            started = time.perf_counter()
            load = await open_loop(opened, server, batch, options.rate)
            open_loads.append(load)
            print(f"  open loop {server.name:8} {options.rate:.0f}/s  p50 {load.ms(50):6.1f} ms  "
                  f"p99 {load.ms(99):6.1f} ms", flush=True)
            if server is tsunagu:
                sent_to_tsunagu += len(batch)
                await settle("the open loop", started)

    return Report(backend=backend, requests=options.requests, concurrency=options.concurrency,
                  rate=options.rate, rounds_echo=rounds_echo, rounds_tsunagu=rounds_tsunagu,
                  open_echo=open_loads[0], open_tsunagu=open_loads[1],
                  sent_to_tsunagu=sent_to_tsunagu, backlog=await asyncio.to_thread(
                      database.backlog), drain_seconds=drains)


def print_report(r: Report) -> None:
    def row(label: str, load: Load) -> str:
        return (f"{label:28} {load.throughput:8.0f}/s  {load.ms(50):7.1f} {load.ms(99):7.1f} "
                f"{load.ms(100):7.1f}  {load.acknowledged:6}/{load.sent:<6} "
                f"{load.cpu_ms_per_request(load.server_cpu)}  "
                f"{load.cpu_ms_per_request(load.client_cpu)}")

    print()
    print(f"webhook ingest, tsunagu on {r.backend}, {os.cpu_count()} CPUs; one event per webhook")
    print(f"{'':28} {'acked/s':>10}  {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  "
          f"{'acked/sent':>13} {'server':>5}  {'client CPU ms/req':>5}")
    print(f"(a) {r.requests} requests, concurrency {r.concurrency}, median of "
          f"{len(r.rounds_echo)} rounds:")
    for name, rounds in (("echo bot", r.rounds_echo), ("tsunagu", r.rounds_tsunagu)):
        for n, load in enumerate(rounds):
            print(row(f"  {name} round {n + 1}", load))
    print(f"(b) open loop {r.rate:.0f} events/s for {r.open_echo.sent / r.rate:.0f} s "
          "(latency from each request's scheduled time):")
    print(row("  echo bot", r.open_echo))
    print(row("  tsunagu", r.open_tsunagu))
    lag = max(r.open_echo.max_start_lag, r.open_tsunagu.max_start_lag) * 1000
    print(f"  (the client started requests at most {lag:.1f} ms late)")
    b = r.backlog
    drains = ", ".join(f"{s:.1f}" for s in r.drain_seconds)
    print(f"tsunagu stored {b.stored}/{r.sent_to_tsunagu} events; pending {b.pending}, failed "
          f"{b.failed}; answers unsent {b.unsent}, failed {b.outbox_failed}; every accepted "
          f"event processed and answered within [{drains}] s of its phase's start")
    echo_tp = statistics.median(load.throughput for load in r.rounds_echo)
    tsunagu_tp = statistics.median(load.throughput for load in r.rounds_tsunagu)
    print()
    print(f"throughput: echo bot {echo_tp:.0f}/s, tsunagu {tsunagu_tp:.0f}/s, "
          f"ratio tsunagu/echo {r.throughput_ratio:.2f} (median of per-round ratios; target "
          f">= {THROUGHPUT_RATIO_TARGET}): {'PASS' if r.throughput_passed else 'FAIL'}")
    ratio = r.open_tsunagu.ms(99) / r.open_echo.ms(99) if r.open_echo.ms(99) else math.nan
    print(f"ack latency at {r.rate:.0f}/s: p50 {r.open_tsunagu.ms(50):.1f} ms, p99 "
          f"{r.open_tsunagu.ms(99):.1f} ms (echo bot p99 {r.open_echo.ms(99):.1f} ms, ratio "
          f"{ratio:.1f}; target p99 <= {P99_TARGET_MS:.0f} ms): "
          f"{'PASS' if r.latency_passed else 'FAIL'}")
    print(f"every webhook acknowledged: {'yes' if r.all_acknowledged else 'NO'}; every event "
          f"stored, processed and answered: {'yes' if r.all_stored_and_answered else 'NO'}")


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """How tsunagu runs: the options every benchmark of a running server shares."""
    parser.add_argument("--worker-process", action="store_true",
                        help="run tsunagu with TSUNAGU_WORKER_PROCESS=true (events processed "
                             "and answers sent by a child process)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL; a throw-away database is created on it "
                             "(default: a temporary SQLite file)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000,
                        help="(a) webhooks per round and server (1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="(a) in flight (32)")
    parser.add_argument("--rounds", type=int, default=3, help="(a) alternating rounds (3)")
    parser.add_argument("--rate", type=float, default=100.0, help="(b) webhooks/s (100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="(b) duration (10)")
    parser.add_argument("--connections", type=int, default=256,
                        help="(b) most connections the client opens (256)")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the load generator's HTTP client (aiohttp; see Client)")
    parser.add_argument("--users", type=int, default=500, help="distinct residents (500)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed webhooks first (200)")
    add_server_options(parser)
    parser.add_argument("--drain-timeout", type=float, default=300.0,
                        help="most seconds to wait for tsunagu to answer what it accepted")
    options = parser.parse_args(argv)
    if min(options.requests, options.concurrency, options.rounds, options.users) < 1 \
            or options.rate <= 0 or options.seconds <= 0 or options.warmup < 0:
        parser.error("sizes must be positive")
    return options


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed, as uvicorn picks it for the servers."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def summary(r: Report) -> dict[str, Any]:
    """The headline figures, for run_all.py."""
    return {
        "backend": r.backend,
        "echo_throughput": statistics.median(load.throughput for load in r.rounds_echo),
        "tsunagu_throughput": statistics.median(load.throughput for load in r.rounds_tsunagu),
        "throughput_ratio": r.throughput_ratio,
        "rate": r.rate,
        "echo_p50_ms": r.open_echo.ms(50), "echo_p99_ms": r.open_echo.ms(99),
        "tsunagu_p50_ms": r.open_tsunagu.ms(50), "tsunagu_p99_ms": r.open_tsunagu.ms(99),
        "throughput_passed": r.throughput_passed, "latency_passed": r.latency_passed,
        "all_acknowledged": r.all_acknowledged,
        "all_stored_and_answered": r.all_stored_and_answered, "passed": r.passed,
    }


def main(argv: Sequence[str] | None = None) -> Report:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tsunagu-webhook-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(options.database_url, workdir) as (url, backend), \
                stopping([]) as servers:
            print(f"starting the echo bot and tsunagu ({backend}) ...", flush=True)
            line = start_emulator(workdir)
            servers.append(line)
            servers.append(start_echo("echo bot", workdir))
            # The made-up reply tokens mean nothing to the emulator: a zero token lifetime
            # makes the outbox push each answer at once instead of replying first and being
            # refused.
            servers.append(start_tsunagu("tsunagu", url, workdir, api_url=f"{line.url}/emulator",
                                         reply_token_ttl_seconds="0",
                                         worker_process=str(options.worker_process).lower()))
            database = Database(url)
            try:
                with asyncio.Runner(loop_factory=loop_factory()) as runner:
                    report = runner.run(measure(options, servers[1], servers[2], database,
                                                backend))
            except BaseException:
                for server in servers:
                    print(f"--- {server.name} log (last lines)\n{server.log_tail()}",
                          file=sys.stderr)
                raise
            finally:
                database.close()
    print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main().passed else 1)
