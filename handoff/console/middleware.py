"""The console's session cookie and security headers, applied to /console only.

Pure ASGI rather than Starlette's BaseHTTPMiddleware: the LINE webhook, which must answer within
milliseconds under load, passes straight through without a session or a wrapped response.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Cache-Control": "no-store",  # case pages hold personal information
}


def is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


class SecurityHeaders:
    """Adds each header the response has not set itself (a page may narrow or widen one)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConsoleOnly:
    """Runs `console` (the app wrapped in the session and header middlewares) for /console
    requests and the bare app for everything else."""

    def __init__(self, app: ASGIApp, *, secret: str, https_only: bool) -> None:
        self.app = app
        self.console = SessionMiddleware(
            SecurityHeaders(app), secret_key=secret, session_cookie="tsunagu_console",
            same_site="strict", https_only=https_only, max_age=8 * 3600, path="/console")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_console(scope["path"]):
            await self.console(scope, receive, send)
        else:
            await self.app(scope, receive, send)
