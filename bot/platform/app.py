"""FastAPI app factory: mounts the webhook and, in demo and tests, the LINE emulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.db import changes, logsafety
from bot.db.engine import make_engine, make_session_factory, transaction
from bot.db.migrations import upgrade
from bot.db.models import utcnow
from bot.edge import webhook
from bot.edge.line_client import LineClient, WebhookReader
from bot.edge.outbox import OutboxSender
from bot.journey.conversation import FlowLibrary
from bot.journey.worker import InboxWorker
from bot.nlp import trained as risk_models
from bot.platform import server as edge
from bot.platform.runtime import Runtime
from bot.platform.worker_process import WorkerProcess
from bot.releases import store as content_store
from bot.releases.load import load_content
from bot.settings import Settings, get_settings
from handoff import followups, retention

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def build_runtime(settings: Settings) -> Runtime:
    if not settings.secret.strip():
        # An empty key would accept any body signed with the empty key.
        raise ValueError("the LINE channel secret must not be empty")
    engine = make_engine(settings.database_url)
    content = load_content(settings.content_dir)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        webhook_reader=WebhookReader(settings.secret),
        line=LineClient(base_url=settings.line_api_base_url,
                        access_token=settings.access_token,
                        timeout_seconds=settings.line_request_timeout_seconds),
        content=content,
        library=FlowLibrary(content),
    )
    if settings.is_sqlite:
        changes.signal_commits(runtime.changes, runtime.sessions)
    return runtime


def serve_newest_release(runtime: Runtime) -> None:
    """Serve the newest published content (seeding it from the content folder if none)."""
    with transaction(runtime.sessions) as session:
        newest = content_store.newest_release_id(session)
        if newest is not None and newest == runtime.release_id:
            return  # the usual case: one small query
        release = content_store.ensure_release(session, runtime.settings.content_dir)
        release_id, files, release_digest = release.id, release.files, release.digest
        risk_models.remember(release.risk_model)  # trained once, when it was published
    on_disk = content_store.digest(content_store.read_directory(runtime.settings.content_dir))
    if runtime.release_id is None and release_digest != on_disk:
        log.warning("content: serving release %d from the database; the content folder differs "
                    "(publish it with `tsunagu content import`)", release_id)
    runtime.serve(content_store.load_files(files), release_id)
    log.info("content: serving release %d", release_id)


async def send_due_followups(runtime: Runtime, *, batch: int = 500) -> int:
    def dispatch() -> int:
        with transaction(runtime.sessions) as session:
            return followups.dispatch_due(session=session, rules=runtime.content.followups,
                                          now=utcnow(), limit=batch)

    total = 0
    while True:  # many can fall due at once (a restart, a morning after quiet hours)
        sent = await asyncio.to_thread(dispatch)
        total += sent
        metrics.followups_queued(sent)
        if sent:
            runtime.wake_outbox()  # the outbox starts sending while the next batch is written
        if sent < batch:
            break
    if total:
        log.info("follow-ups: %d queued", total)
    return total


def erase_expired(runtime: Runtime) -> int:
    """Delete what consent withdrawal and the retention period say must go."""
    total = 0
    while True:
        with transaction(runtime.sessions) as session:
            erased = retention.erase_due(session=session, now=utcnow())
        total += erased
        if erased < retention.BATCH:
            break
    if total:
        log.info("retention: %d conversations erased", total)
    return total


def follow_content(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Serve newer releases when told of one (another process published); returns a function
    that waits for a reload in progress."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    def reloaded(task: asyncio.Task[None]) -> None:
        reloads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("content reload failed (%s); serving the previous release",
                        type(task.exception()).__name__)

    def on_change(topic: str) -> None:
        # Another process published (or we may have missed it while reconnecting).
        if topic in ("content_releases", "reconnected", "unknown"):
            task = loop.create_task(asyncio.to_thread(serve_newest_release, runtime))
            reloads.add(task)
            task.add_done_callback(reloaded)

    runtime.changes.subscribe(on_change)

    async def settle() -> None:
        await asyncio.gather(*reloads, return_exceptions=True)

    return settle


def start_background(runtime: Runtime, scheduler: AsyncIOScheduler) -> list[asyncio.Task[None]]:
    """The inbox worker, the outbox sender and the scheduled jobs, on the running loop."""
    settings = runtime.settings
    tasks = [asyncio.create_task(InboxWorker(runtime).run(), name="inbox"),
             asyncio.create_task(OutboxSender(runtime).run(), name="outbox")]
    # APScheduler only triggers; the database says what is due (restart-safe, and safe with
    # several processes, unlike a shared APScheduler job store).
    scheduler.add_job(send_due_followups, "interval", args=[runtime],
                      seconds=settings.followup_interval_seconds,
                      next_run_time=utcnow(), max_instances=1, coalesce=True)
    scheduler.add_job(asyncio.to_thread, "interval", args=[erase_expired, runtime],
                      seconds=settings.retention_check_seconds, next_run_time=utcnow(),
                      max_instances=1, coalesce=True)
    return tasks


def check_content_regularly(runtime: Runtime, scheduler: AsyncIOScheduler) -> None:
    # Catches what no signal announced (a CLI import next to a SQLite app).
    scheduler.add_job(asyncio.to_thread, "interval", args=[serve_newest_release, runtime],
                      seconds=runtime.settings.content_check_seconds, max_instances=1,
                      coalesce=True)


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
    runtime = build_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            # Zero-setup default: bring the schema up to date. PostgreSQL deployments run
            # `tsunagu db upgrade` as their own release step.
            await asyncio.to_thread(upgrade, settings.database_url)
        runtime.changes.attach(asyncio.get_running_loop())
        await asyncio.to_thread(serve_newest_release, runtime)
        follow_content(runtime)
        tasks: list[asyncio.Task[None]] = []
        if not settings.is_sqlite:
            tasks.append(asyncio.create_task(
                changes.listen(runtime.changes, settings.database_url), name="changes"))
        scheduler = AsyncIOScheduler(timezone="UTC")
        child: WorkerProcess | None = None
        if background and settings.worker_process:
            child = WorkerProcess.start(settings)
            child.link(runtime)
        elif background:
            tasks += start_background(runtime, scheduler)
        if background:
            check_content_regularly(runtime, scheduler)
            scheduler.start()
        try:
            yield
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if child is not None:
                await asyncio.to_thread(child.stop)
            await runtime.line.close()
            runtime.engine.dispose()

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
    metrics.mount_metrics(app, runtime.engine, settings.metrics_token)

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
        from bot.emulator import mount_emulator

        mount_emulator(app, settings)
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

