"""The counsellor console, mounted at /console (login required on every page but the login)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.settings import Settings
from handoff.console.admin import router as admin_router
from handoff.console.alerts import router as alerts_router
from handoff.console.audit_views import router as audit_router
from handoff.console.content_forms import router as content_forms_router
from handoff.console.corpus_forms import router as corpus_forms_router
from handoff.console.dashboard import router as dashboard_router
from handoff.console.desk import router as desk_status_router
from handoff.console.floor_views import router as floor_router
from handoff.console.message_forms import router as message_forms_router
from handoff.console.middleware import ConsoleOnly
from handoff.console.referral_sources import router as referral_sources_router
from handoff.console.referral_views import router as referral_router
from handoff.console.rehearsal import router as rehearsal_router
from handoff.console.reply_forms import router as reply_forms_router
from handoff.console.risk_forms import router as risk_forms_router
from handoff.console.search_views import router as search_router
from handoff.console.security import ConsoleAuth, HashingGate, LoginRequired
from handoff.console.support_forms import router as support_forms_router
from handoff.console.support_views import router as support_router
from handoff.console.views import HERE, router
from handoff.logins import LoginLimits
from handoff.sessions import SessionPolicy

log = logging.getLogger(__name__)


def mount_console(app: FastAPI, settings: Settings) -> None:
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    if not secret:
        log.warning("TSUNAGU_SESSION_SECRET is not set: console logins last until restart")
        secret = secrets.token_urlsafe(32)
    app.add_middleware(ConsoleOnly, secret=secret, https_only=settings.secure_cookies)
    app.state.console_auth = ConsoleAuth(
        secret=secret,
        limits=replace(LoginLimits(), address_failures=settings.login_address_failures),
        policy=SessionPolicy(idle=timedelta(minutes=settings.console_idle_minutes),
                             lifetime=timedelta(hours=settings.console_session_hours)),
        gate=HashingGate(settings.login_concurrency or os.cpu_count() or 1),
        secure_cookies=settings.secure_cookies)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    app.include_router(router)
    app.include_router(support_router)
    app.include_router(audit_router)
    app.include_router(referral_router)
    app.include_router(dashboard_router)
    app.include_router(desk_status_router)
    app.include_router(admin_router)
    app.include_router(rehearsal_router)
    app.include_router(alerts_router)
    app.include_router(referral_sources_router)
    app.include_router(floor_router)
    app.include_router(search_router)
    app.include_router(content_forms_router)
    app.include_router(risk_forms_router)
    app.include_router(corpus_forms_router)
    app.include_router(reply_forms_router)
    app.include_router(message_forms_router)
    app.include_router(support_forms_router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
