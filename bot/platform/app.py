"""FastAPI app factory: mounts the webhook and, in demo and tests, the LINE emulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.db import logsafety
from bot.edge import webhook
from bot.platform import exposition, lifecycle
from bot.platform import server as edge
from bot.platform.worker_process import WorkerProcess
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def create_app(settings: Settings | None = None, *, background: bool = True) -> FastAPI:
    """The whole product. `background=False` leaves the inbox and outbox to the caller (tests).
    With `worker_process` set, they run in a child process (bot/platform/worker_process.py)."""
    settings = settings or get_settings()
    if settings.emulator and not settings.secret.strip():
        # The emulator signs what its page sends with this secret: never an empty one.
        settings = settings.model_copy(update={
            "line_channel_secret": SecretStr(secrets.token_hex(16)),
            "line_channel_access_token": settings.line_channel_access_token
            or SecretStr(secrets.token_urlsafe(32))})
    logsafety.install()
    runtime = lifecycle.build_runtime(settings)

    # Background work here unless a worker child or separate `tsunagu worker` processes do it.
    in_process = background and settings.run_worker and not settings.worker_process

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        child: WorkerProcess | None = None
        async with lifecycle.running(runtime, background=in_process):
            if background and settings.run_worker and settings.worker_process:
                child = WorkerProcess.start(settings)
                child.link(runtime)
            try:
                yield
            finally:
                if child is not None:
                    await asyncio.to_thread(child.stop)

    docs = settings.api_docs
    # The whole body is bounded, and so one form field may be as large (an administrator's
    # content file); Starlette's own 1 MB per field would otherwise answer first, with a 400.
    app = FastAPI(title="tsunagu", lifespan=lifespan, max_body_size=settings.max_body_bytes,
                  form_limits={"max_part_size": settings.max_body_bytes},
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    app.state.settings = settings
    app.state.runtime = runtime
    app.include_router(webhook.router, max_body_size=settings.webhook_max_bytes)
    exposition.mount_metrics(app, runtime.engine, settings.metrics_token)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:  # a thread: it writes to the database
        # Up or down only: why is for the log, not for whoever asks.
        try:
            check_writable(runtime.engine)
        except SQLAlchemyError as e:
            log.warning("healthz: database unavailable (%s)", type(e).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/", include_in_schema=False)
    def start(request: Request) -> Response:
        if settings.emulator:  # the demo: where to begin
            return TEMPLATES.TemplateResponse(request, "start.html", headers=START_HEADERS)
        return RedirectResponse("/console/login", status_code=303)

    from handoff.console import mount_console

    mount_console(app, settings)
    if settings.emulator:
        try:
            from line_emulator import mount_emulator
        except ImportError as e:  # a production install: the stand-in is the demo extra
            raise RuntimeError("TSUNAGU_EMULATOR=true needs the LINE emulator: install "
                               "tsunagu[demo] (./scripts/demo does)") from e
        # As tsunagu's LINE account is set up: chat on, so a resident's messages show 既読
        # when a counsellor opens them (LINE's mark as read), not as soon as LINE takes them.
        mount_emulator(app, channel_secret=settings.secret, access_token=settings.access_token,
                       chat_mode="chat", basic_id=settings.account_line_id)
    # Outermost: counted and timed before any other middleware sees the request.
    app.add_middleware(edge.WebhookRefusals, limit=settings.webhook_max_bytes)
    app.add_middleware(edge.BodyDeadline, seconds=settings.body_timeout_seconds)
    return app


START_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
                 "Referrer-Policy": "no-referrer"}


def check_writable(engine: Engine) -> None:
    """Raises SQLAlchemyError unless the database takes a write.

    `SELECT 1` passes on a read-only database (a full disk, a read-only file or mount, a
    PostgreSQL standby or `default_transaction_read_only`). So the check rewrites the one row of
    `alembic_version` (every migrated database has it) with its own value: no data changes, and
    no migration is needed for a heartbeat table. On SQLite it is committed, which writes a page
    to the write-ahead log (a full disk fails here); on PostgreSQL it is rolled back (a read-only
    or standby server refuses the UPDATE itself; a PostgreSQL out of disk stops altogether),
    with a short lock timeout so a migration holding the row does not hang the check."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            with connection.begin() as transaction:
                connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                connection.execute(text(
                    "UPDATE alembic_version SET version_num = version_num"))
                transaction.rollback()
            return
        with connection.begin():
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))

