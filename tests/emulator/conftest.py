"""One real HTTP server per test session: an app with only the emulator and a tiny webhook.

The bot side is played by the real line-bot-sdk (AsyncMessagingApi over aiohttp) and by a
`POST /line/webhook` that checks signatures with the SDK's own `WebhookParser`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from line_emulator import EmulatorState, mount_emulator
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

SECRET = "emulator-test-channel-secret"
TOKEN = "emulator-test-access-token"


@dataclass
class Webhook:
    """What the test webhook received: raw bodies and the SDK-parsed events."""

    bodies: list[bytes] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    rejected: int = 0


@dataclass
class Server:
    url: str
    state: EmulatorState
    webhook: Webhook

    @property
    def api_host(self) -> str:
        return f"{self.url}/emulator"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build_app(webhook: Webhook) -> tuple[FastAPI, EmulatorState]:
    app = FastAPI()
    state = mount_emulator(app, channel_secret=SECRET, access_token=TOKEN)
    parser = WebhookParser(SECRET)

    @app.post("/line/webhook")
    async def line_webhook(request: Request) -> Response:
        raw = await request.body()
        signature = request.headers.get("X-Line-Signature", "")
        try:
            parsed = parser.parse(raw.decode("utf-8"), signature)
        except InvalidSignatureError:
            webhook.rejected += 1
            return Response(status_code=400)
        webhook.bodies.append(raw)
        webhook.signatures.append(signature)
        webhook.events.extend(parsed)
        return Response(status_code=200)

    return app, state


@pytest.fixture(scope="session")
def live_server() -> Iterator[Server]:
    webhook = Webhook()
    app, state = _build_app(webhook)
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator test server did not start")
        time.sleep(0.02)
    yield Server(url=f"http://127.0.0.1:{port}", state=state, webhook=webhook)
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def server(live_server: Server) -> Server:
    """The shared server, with the emulator's memory and the webhook's record wiped."""
    live_server.state.reset()
    live_server.webhook.bodies.clear()
    live_server.webhook.signatures.clear()
    live_server.webhook.events.clear()
    live_server.webhook.rejected = 0
    return live_server


@pytest.fixture
def emulator(server: Server) -> EmulatorState:
    return server.state


@pytest.fixture
async def line_api(server: Server) -> AsyncIterator[AsyncMessagingApi]:
    """The real SDK client a bot would use, pointed at the emulator."""
    client = AsyncApiClient(Configuration(host=server.api_host, access_token=TOKEN))
    try:
        yield AsyncMessagingApi(client)
    finally:
        await client.close()
