"""The edge: what an anonymous caller can make the server hold, wait for, or tell.

Every bound here is per request or per connection, so no caller can grow the process with
what it sends or keep it waiting for what it does not send:

- request bodies: FastAPI's `max_body_size` (Starlette's RequestBodyLimitMiddleware, set up in
  bot/platform/app.py) answers 413 before reading a body whose Content-Length is over the limit, and
  counts a chunked body as it arrives, stopping at the first chunk past the limit. The webhook
  has its own limit (`TSUNAGU_WEBHOOK_MAX_BYTES`), everything else `TSUNAGU_MAX_BODY_BYTES`.
  `WebhookRefusals` answers the webhook's own over-long Content-Length before the route runs,
  and counts and logs every webhook 413 (the size, never the body).
- `BodyDeadline`: a body must have arrived within `TSUNAGU_BODY_TIMEOUT_SECONDS` (408), so a
  client trickling one byte a second does not hold a request open.
- `bounded_httptools()`: uvicorn's httptools protocol with the request line and headers bounded
  in bytes (431) and in time (the connection is closed); uvicorn bounds them only for h11.
- `server_config()`: the uvicorn settings of `tsunagu serve` (connections, keep-alive, backlog,
  which proxies' X-Forwarded-For are believed).
- `emulator_refusal()`: the LINE emulator never runs beside a real channel.

All of it is pure ASGI or protocol-level: the webhook, which must answer within milliseconds,
passes through without a wrapped response.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot import metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/line/webhook"
BACKLOG = 2048  # connections the kernel queues before the server accepts them


class WebhookRefusals:
    """The webhook's 413s: counted (`tsunagu_webhook_rejected_total{reason="too_large"}`) and
    logged with the size only, never the body.

    A Content-Length over the limit is answered here, before the route runs (it would otherwise
    check the signature first, and count a bad one). A chunked body is cut off by the body
    limit as it arrives; its 413 is counted on the way out."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != WEBHOOK_PATH:
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            self._refused(length)
            await PlainTextResponse("Content Too Large", status_code=413,
                                    headers={"Connection": "close"})(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 413:
                self._refused(length)
            await send(message)

        await self.app(scope, receive, watch)

    def _refused(self, length: str | None) -> None:
        log.warning("webhook rejected: body over %d bytes (Content-Length: %s)",
                    self.limit, length if length is not None else "none, chunked")
        metrics.webhook_rejected("too_large")


class BodyDeadline:
    """A request body must be complete `seconds` after the app first asks for it (else 408).

    Only the body is timed: once it has arrived, `receive` is passed through untouched (a
    streamed response waits on it for the client to go away)."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        complete = False

        async def receive_in_time() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            if deadline is None:
                deadline = loop.time() + self.seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                log.warning("request body not complete within %.0f s: answered 408",
                            self.seconds)
                raise HTTPException(408, "Request Timeout") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, receive_in_time, send)


def bounded_httptools(max_head_bytes: int, head_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, with each request's line and headers bounded.

    Without this, httptools keeps every header of a request in memory however many there are
    (uvicorn's `h11_max_incomplete_event_size` applies to h11 only), and a client sending them
    one byte at a time holds its connection open for ever. Here a request head over
    `max_head_bytes` is answered 431 and the connection closed; a head not complete
    `head_timeout` seconds after the connection opened (or the previous response ended and the
    next request began) closes the connection."""

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        head_bytes = 0
        head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_bytes = 0
            self._arm()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            if self.head_bytes <= max_head_bytes:
                super().send_400_response(msg)
                return
            body = b"Request Header Fields Too Large"
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body)
            self.transport.close()

        def _count(self, size: int) -> None:
            self.head_bytes += size
            if self.head_bytes > max_head_bytes:
                # httptools turns this into an HttpParserError: uvicorn stops parsing and
                # answers through send_400_response above.
                raise ValueError("request head too large")

        def _arm(self) -> None:
            self._disarm()
            self.head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _head_timed_out(self) -> None:
            self.head_timer = None
            if self.cycle is not None and not self.cycle.response_complete:
                self._arm()  # a pipelined head waits while the previous request is answered
                return
            if not self.transport.is_closing():
                log.info("connection closed: request head not complete within %.0f s",
                         head_timeout)
                self.transport.close()

    return BoundedHttpToolsProtocol


def server_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """How `tsunagu serve` and `tsunagu demo` listen (README: the edge)."""
    return uvicorn.Config(
        app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False,
        http=bounded_httptools(settings.max_header_bytes, settings.header_timeout_seconds),
        h11_max_incomplete_event_size=settings.max_header_bytes,  # should h11 ever be used
        ws="none",  # nothing here speaks WebSocket: no upgrade is accepted
        limit_concurrency=settings.limit_concurrency, backlog=BACKLOG,
        timeout_keep_alive=settings.keep_alive_seconds, timeout_graceful_shutdown=20,
        # X-Forwarded-For and -Proto are believed only from these peers (the balancer).
        proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False)


LINE_HOSTS = ("line.me",)


def _is_line_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in LINE_HOSTS)


def emulator_refusal(settings: Settings) -> str | None:
    """Why `tsunagu serve` must not run this emulator configuration, or None.

    The emulator signs webhooks with the channel secret for anyone who opens its page, and lets
    its page act as any LINE user: beside a real channel it would let strangers write as
    residents and make the bot message real people."""
    if not settings.emulator:
        return None
    if settings.line_channel_secret is not None or settings.line_channel_access_token is not None:
        return ("TSUNAGU_EMULATOR=true cannot be used with a LINE channel secret or access token "
                "(the emulator would sign for anyone with them); unset them, or use `tsunagu demo`")
    if _is_line_host(settings.line_api_base_url) or _is_line_host(
            settings.line_data_api_base_url):
        return ("TSUNAGU_EMULATOR=true cannot be used with LINE's own API "
                "(TSUNAGU_LINE_API_BASE_URL / TSUNAGU_LINE_DATA_API_BASE_URL point at line.me); "
                "point them at the emulator, or use `tsunagu demo`")
    return None
