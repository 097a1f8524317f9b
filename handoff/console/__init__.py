"""The counsellor console, mounted at /console (login required on every page but the login)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from bot.settings import Settings
from handoff.console.admin import router as admin_router
from handoff.console.dashboard import router as dashboard_router
from handoff.console.security import LoginRequired
from handoff.console.views import HERE, router

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Cache-Control": "no-store",  # case pages hold personal information
}


def mount_console(app: FastAPI, settings: Settings) -> None:
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    if not secret:
        log.warning("TSUNAGU_SESSION_SECRET is not set: console logins last until restart")
        secret = secrets.token_urlsafe(32)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="tsunagu_console",
                       same_site="strict", https_only=settings.secure_cookies,
                       max_age=8 * 3600, path="/console")

    @app.middleware("http")
    async def console_headers(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/console"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)  # a page may narrow or widen one
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    app.include_router(router)
    app.include_router(dashboard_router)
    app.include_router(admin_router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
