"""The edge (bot/platform/server.py): nothing anonymous exhausts or reads the server.

Memory is measured from the server process itself (/proc/<pid>/status, with its peak reset
through /proc/<pid>/clear_refs first), never by how long anything took.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from line_emulator import events as line_events
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.db.migrations import upgrade
from bot.db.models import InboxEvent, InboxStatus
from bot.edge.line_client import BadSignature
from bot.platform import server as edge
from bot.platform.app import create_app
from bot.settings import Settings
from tests.live import METRICS_AUTH, METRICS_TOKEN, SECRET, TOKEN, LiveApp, free_port, wait_for
from tests.test_cli import TSUNAGU, clean_env, running

MB = 1024 * 1024


def settings_for(database_url: str, **overrides: Any) -> Settings:
    return Settings(**{"database_url": database_url, "emulator": True,
                       "line_channel_secret": SECRET, "line_channel_access_token": TOKEN,
                       "metrics_token": METRICS_TOKEN, **overrides})


@pytest.fixture
def small(tmp_path: Path) -> Iterator[FastAPI]:
    """The whole app in this process with small limits (1000 bytes for the webhook, 5000 for
    everything else), without its lifespan."""
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade(url)
    app = create_app(settings_for(url, webhook_max_bytes=1000, max_body_bytes=5000),
                     background=False)
    yield app
    app.state.runtime.engine.dispose()


@pytest.fixture
async def small_app(small: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small),
                                 base_url="http://app") as client:
        yield client


def rejected(text_: str, reason: str) -> float:
    for line in text_.splitlines():
        if line.startswith(f'tsunagu_webhook_rejected_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no {reason} series")


async def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"a" * size


# ---------------------------------------------------------------- request bodies


async def test_an_oversized_webhook_is_refused_and_counted(
        small_app: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    # Counters are per process: other tests in the run have counted before this one.
    scraped = (await small_app.get("/metrics", headers=METRICS_AUTH)).text
    before, bad_before = rejected(scraped, "too_large"), rejected(scraped, "bad_signature")
    body = b'{"events": [], "pad": "' + b"x" * 2000 + b'"}'
    signed = {"X-Line-Signature": line_events.sign(body, SECRET)}
    declared = await small_app.post("/line/webhook", content=body, headers=signed)
    chunked = await small_app.post("/line/webhook", content=chunks(10, 300), headers=signed)
    unsigned = await small_app.post("/line/webhook", content=body)
    assert [declared.status_code, chunked.status_code, unsigned.status_code] == [413] * 3
    after = (await small_app.get("/metrics", headers=METRICS_AUTH)).text
    assert rejected(after, "too_large") == before + 3
    # Refused for its size, before the signature was looked at.
    assert rejected(after, "bad_signature") == bad_before
    assert "webhook rejected: body over 1000 bytes (Content-Length: 2025)" in caplog.text
    assert "xxxx" not in caplog.text  # the size is logged, never the body


async def test_a_webhook_just_under_the_limit_is_checked_and_stored(
        small: FastAPI, small_app: httpx.AsyncClient) -> None:
    user = line_events.new_user_id()
    events = [line_events.text_event(user, "こんにちは", reply_token="r" * 32)]
    body = json.dumps({"destination": "U" + "0" * 32, "events": events}).encode()
    body = body[:-1] + b" " * (1000 - len(body)) + b"}"  # JSON whitespace up to the limit
    assert len(body) == 1000
    good = await small_app.post("/line/webhook", content=body,
                                headers={"X-Line-Signature": line_events.sign(body, SECRET)})
    bad = await small_app.post("/line/webhook", content=body,
                               headers={"X-Line-Signature": line_events.sign(body, "other")})
    assert (good.status_code, bad.status_code) == (200, 400)
    with small.state.runtime.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM inbox_events")) == 1


async def test_every_other_route_has_a_body_limit_too(small_app: httpx.AsyncClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    huge_login = await small_app.post("/console/login", content=b"username=" + b"a" * 6000,
                                      headers=form)
    chunked_login = await small_app.post("/console/login", content=chunks(30, 300),
                                         headers=form)
    emulator = await small_app.post(f"/emulator/api/users/{line_events.new_user_id()}/events",
                                    content=b'{"type": "text", "text": "' + b"a" * 6000 + b'"}')
    assert [huge_login.status_code, chunked_login.status_code, emulator.status_code] == [413] * 3


async def test_a_body_that_trickles_is_cut_off() -> None:
    """`BodyDeadline` with a tiny deadline: the body stops coming, the answer is 408."""
    received: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        from starlette.requests import Request as StarletteRequest
        from starlette.responses import Response

        try:
            received.append(await StarletteRequest(scope, receive).body())
            response = Response("read")
        except Exception as e:  # what Starlette's ExceptionMiddleware would answer
            response = Response(status_code=getattr(e, "status_code", 500))
        await response(scope, receive, send)

    messages = iter([{"type": "http.request", "body": b"a", "more_body": True}])

    async def receive() -> dict[str, Any]:
        try:
            return next(messages)
        except StopIteration:
            import asyncio
            await asyncio.Event().wait()  # the client never sends the rest
            raise AssertionError from None

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    await edge.BodyDeadline(app, seconds=0.05)(scope, receive, send)
    assert sent[0]["status"] == 408 and received == []


# ---------------------------------------------------------------- a real server's memory


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines)
            if k in ("VmRSS", "VmHWM")}


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)


def _exchange(port: int, head: bytes, body: Iterator[bytes]) -> tuple[bytes, int]:
    """Sends a raw request as fast as the server takes it; returns its status line (empty if
    it closed the connection without one) and how many body bytes went out."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(head)
            for chunk in body:
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: it takes no more
        try:
            answer = s.recv(200)
        except OSError:
            answer = b""
    return answer.split(b"\r\n")[0], sent


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A real `tsunagu serve` (default limits), answered through an unreachable LINE."""
    port = free_port()
    env = clean_env(TSUNAGU_DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
                    TSUNAGU_LINE_CHANNEL_SECRET=SECRET, TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
                    TSUNAGU_LINE_API_BASE_URL="http://127.0.0.1:9/line",
                    TSUNAGU_LINE_DATA_API_BASE_URL="http://127.0.0.1:9/line",
                    TSUNAGU_LOG_LEVEL="WARNING")
    with running("serve", cwd=tmp_path, env=env, port=port) as proc:
        yield proc, port


def test_huge_bodies_and_heads_do_not_grow_the_server(
        served: tuple[subprocess.Popen[bytes], int], tmp_path: Path) -> None:
    proc, port = served
    chunk = b"a" * 65536
    big = 64 * MB
    user = line_events.new_user_id()
    # Warm up the webhook's path (imports, first connection) before measuring.
    body, headers = line_events.signed_webhook(
        [line_events.text_event(user, "はじめまして", reply_token="r" * 32)], secret=SECRET)
    warm = httpx.post(f"http://127.0.0.1:{port}/line/webhook", content=body, headers=headers,
                      trust_env=False)
    assert warm.status_code == 200
    # And its processing (the tokenizer's dictionary, the risk model), which would otherwise
    # grow the server beside the first measurement on a slow machine.
    database = create_engine(f"sqlite:///{tmp_path}/s.db")
    try:
        wait_for(lambda: _processed(database), timeout=120, interval=0.2)
    finally:
        database.dispose()
    webhook = b"POST /line/webhook HTTP/1.1\r\nHost: x\r\nX-Line-Signature: x\r\n"
    login = (b"POST /console/login HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\n")

    def chunked() -> Iterator[bytes]:
        for _ in range(big // len(chunk)):
            yield b"%x\r\n" % len(chunk) + chunk + b"\r\n"

    cases = {
        "64 MB declared": (webhook + b"Content-Length: %d\r\n\r\n" % big,
                           iter([chunk] * (big // len(chunk)))),
        "64 MB chunked": (webhook + b"Transfer-Encoding: chunked\r\n\r\n", chunked()),
        "64 MB chunked login form": (login + b"Transfer-Encoding: chunked\r\n\r\n", chunked()),
        "16 MB of headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: %s\r\n" % (i, b"a" * 8000) for i in range(2000)) + b"\r\n", iter([])),
    }
    for name, (head, body_chunks) in cases.items():
        before = _status(proc.pid)
        _reset_peak(proc.pid)
        status, _ = _exchange(port, head, body_chunks)
        after = _status(proc.pid)
        grown_kb = after["VmHWM"] - before["VmRSS"]
        print(f"{name}: {status!r}, RSS {before['VmRSS']} kB before, peak {after['VmHWM']} kB "
              f"during, {grown_kb} kB grown")
        assert status in (b"", b"HTTP/1.1 413 Request Entity Too Large",
                          b"HTTP/1.1 431 Request Header Fields Too Large"), name
        # Nowhere near the 64 MB (or 16 MB) sent: an eighth of it would already be a leak.
        assert grown_kb < 8 * 1024, name
    # Still serving, and the webhook still answers.
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).status_code == 200


def _processed(database: Engine) -> bool:
    with database.connect() as c:
        return c.scalar(select(func.count()).select_from(InboxEvent).where(
            InboxEvent.status == InboxStatus.PENDING)) == 0


def test_a_head_just_over_the_limit_is_answered_431(
        served: tuple[subprocess.Popen[bytes], int]) -> None:
    _, port = served
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024) + b"\r\n\r\n"
    status, _ = _exchange(port, head, iter([]))
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    fine = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (32 * 1024) + b"\r\n\r\n"
    assert _exchange(port, fine, iter([]))[0] == b"HTTP/1.1 200 OK"


# ---------------------------------------------------------------- what anonymous callers read


async def test_api_docs_are_off_unless_asked_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    for docs, expected in ((False, 404), (True, 200)):
        app = create_app(settings_for(url, api_docs=docs), background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://app") as client:
            for path in ("/docs", "/redoc", "/openapi.json"):
                assert (await client.get(path)).status_code == expected, (docs, path)
        app.state.runtime.engine.dispose()


async def test_metrics_need_the_token(small_app: httpx.AsyncClient, tmp_path: Path) -> None:
    assert (await small_app.get("/metrics")).status_code == 404
    for wrong in ("Bearer nope", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", ""):
        answer = await small_app.get("/metrics", headers={"Authorization": wrong})
        assert answer.status_code == 404 and "tsunagu_" not in answer.text, wrong
    good = await small_app.get("/metrics", headers=METRICS_AUTH)
    assert good.status_code == 200 and "tsunagu_webhook_events_total" in good.text
    # No token configured: no one reads them, whatever they send.
    url = f"sqlite:///{tmp_path}/none.db"
    app = create_app(settings_for(url, metrics_token=None), background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://app") as client:
        assert (await client.get("/metrics", headers=METRICS_AUTH)).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer "})
                ).status_code == 404
    app.state.runtime.engine.dispose()


async def test_the_start_page_in_the_demo_and_a_redirect_in_production(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    demo = create_app(settings_for(url), background=False)
    production = create_app(Settings(database_url=url, line_channel_secret=SECRET,
                                     line_channel_access_token=TOKEN), background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo),
                                     base_url="http://app") as client:
            page = await client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        for link in ('href="/emulator/"', 'href="/console/"', 'href="/console/admin/"'):
            assert link in page.text
        assert "相談" in page.text and page.headers["x-frame-options"] == "DENY"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=production),
                                     base_url="http://app") as client:
            answer = await client.get("/")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    finally:
        demo.state.runtime.engine.dispose()
        production.state.runtime.engine.dispose()


# ---------------------------------------------------------------- /healthz


def _read_only_url(database_url: str, tmp_path: Path) -> str:
    """The same migrated database, reachable only for reading: a read-only SQLite connection,
    or a PostgreSQL database whose transactions are read-only by default."""
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    name = make_url(database_url).database
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    return database_url


async def test_healthz_is_down_when_the_database_cannot_be_written(
        fresh_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Its own database: the test makes it read-only.
    url = _read_only_url(fresh_database_url, tmp_path)
    app = create_app(settings_for(url), background=False)
    try:
        with app.state.runtime.engine.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1  # reading still works
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://app") as client:
            answer = await client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable"}  # the reason is for the log only
        assert "healthz: database unavailable" in caplog.text
    finally:
        app.state.runtime.engine.dispose()  # the PostgreSQL test database is dropped after


def test_healthz_writes_to_the_sqlite_file(tmp_path: Path) -> None:
    """The check reaches the disk: each one adds a frame to the write-ahead log."""
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade(url)
    app = create_app(settings_for(url), background=False)
    try:
        wal = tmp_path / "t.db-wal"
        edge_engine = app.state.runtime.engine
        from bot.platform.app import check_writable

        check_writable(edge_engine)
        size = wal.stat().st_size
        check_writable(edge_engine)
        assert wal.stat().st_size > size
    finally:
        app.state.runtime.engine.dispose()


# ---------------------------------------------------------------- forwarded addresses


def _peer_server(allowed: str) -> tuple[uvicorn.Server, threading.Thread, str]:
    app = FastAPI()

    @app.get("/peer")
    def peer(request: Request) -> dict[str, str]:
        return {"host": request.client.host if request.client else ""}

    port = free_port()
    settings = Settings(emulator=True, forwarded_allow_ips=allowed)
    server = uvicorn.Server(edge.server_config(app, settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("allowed", "seen"), [
    ("127.0.0.1,::1", "203.0.113.9"),  # the default: a balancer on this machine is believed
    ("10.9.8.7", "127.0.0.1"),  # a client that is not the balancer: its header is ignored
])
def test_forwarded_for_is_believed_only_from_the_configured_proxy(allowed: str,
                                                                  seen: str) -> None:
    server, thread, url = _peer_server(allowed)
    try:
        answer = httpx.get(f"{url}/peer", headers={"X-Forwarded-For": "203.0.113.9"},
                           trust_env=False)
        assert answer.json() == {"host": seen}
    finally:
        server.should_exit = True
        thread.join(10)


def test_forwarding_is_never_open_to_all_by_default() -> None:
    assert "*" not in Settings(emulator=True).forwarded_allow_ips
    compose = (Path(__file__).resolve().parents[2] / "docker" / "compose.yaml").read_text()
    assert 'FORWARDED_ALLOW_IPS: "*"' not in compose and "TSUNAGU_FORWARDED_ALLOW_IPS" in compose


# ---------------------------------------------------------------- the emulator


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TSUNAGU, "serve", *args], env=clean_env(**env),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("channel", [
    {"TSUNAGU_LINE_CHANNEL_SECRET": "real-secret"},
    {"TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN": "real-token"},
    {"TSUNAGU_LINE_API_BASE_URL": "http://127.0.0.1:1/emulator"},  # still api-data.line.me
    {"TSUNAGU_LINE_DATA_API_BASE_URL": "http://127.0.0.1:1/emulator"},  # still api.line.me
], ids=["secret", "token", "line data api", "line api"])
def test_serve_refuses_the_emulator_beside_a_real_channel(channel: dict[str, str],
                                                          tmp_path: Path) -> None:
    result = _serve({"TSUNAGU_EMULATOR": "true",
                     "TSUNAGU_DATABASE_URL": f"sqlite:///{tmp_path}/t.db", **channel})
    assert result.returncode == 2, result.stderr
    assert "TSUNAGU_EMULATOR=true cannot be used" in result.stderr
    assert "tsunagu demo" in result.stderr


def test_serve_refuses_the_emulator_on_a_public_interface(tmp_path: Path) -> None:
    own = "http://127.0.0.1:1/emulator"
    result = _serve({"TSUNAGU_EMULATOR": "true", "TSUNAGU_LINE_API_BASE_URL": own,
                     "TSUNAGU_LINE_DATA_API_BASE_URL": own,
                     "TSUNAGU_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"},
                    "--host", "0.0.0.0")
    assert result.returncode == 2 and "listen on 127.0.0.1 only" in result.stderr


def test_serve_refuses_an_empty_channel_secret(tmp_path: Path) -> None:
    for secret in ("", "   "):
        result = _serve({"TSUNAGU_LINE_CHANNEL_SECRET": secret,
                         "TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN": "t",
                         "TSUNAGU_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})
        assert result.returncode == 2 and "TSUNAGU_LINE_CHANNEL_SECRET" in result.stderr


def test_no_webhook_is_ever_checked_with_an_empty_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    emptied = Settings(database_url=url, line_channel_secret="s",
                       line_channel_access_token="t").model_copy(
        update={"line_channel_secret": SecretStr("")})
    with pytest.raises(ValueError, match="must not be empty"):
        create_app(emptied, background=False)
    # In emulator mode without a secret, one is made up: never the empty key.
    app = create_app(Settings(database_url=url, emulator=True), background=False)
    try:
        state = app.state.emulator
        assert len(state.channel_secret) >= 32 and state.access_token
        reader = app.state.runtime.webhook_reader
        body = b'{"destination": "U0", "events": []}'
        assert reader.events(body, line_events.sign(body, state.channel_secret)) == []
        with pytest.raises(BadSignature):
            reader.events(body, line_events.sign(body, ""))
    finally:
        app.state.runtime.engine.dispose()


def test_the_emulator_posts_only_to_its_own_webhook(tmp_path: Path) -> None:
    """Whatever Host the page's request names, the signed event goes to this server's own
    webhook (with the old Host-derived URL it went to the trap, which never answers)."""
    live = LiveApp(f"sqlite:///{tmp_path}/t.db", background=False).start()
    with socket.socket() as trap:
        trap.bind(("127.0.0.1", 0))
        trap.listen()
        trap.settimeout(0.2)
        try:
            user = line_events.new_user_id()
            answer = live.http.post(f"/emulator/api/users/{user}/events",
                                    json={"type": "text", "text": "こんにちは"},
                                    headers={"Host": f"127.0.0.1:{trap.getsockname()[1]}"})
            assert answer.status_code == 200 and answer.json()["status"] == 200
            assert live.count(InboxEvent, InboxEvent.line_user_id == user) == 1
            with pytest.raises(TimeoutError):
                trap.accept()  # nothing came here
        finally:
            live.stop()


def test_a_production_install_has_no_emulator_to_turn_on(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The LINE stand-in is the demo extra: without it, TSUNAGU_EMULATOR=true stops the start
    with what to install, instead of serving a product that cannot answer anyone."""
    monkeypatch.setitem(sys.modules, "line_emulator", None)  # as if never installed
    with pytest.raises(RuntimeError, match=r"tsunagu\[demo\]"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/t.db", emulator=True),
                   background=False)
