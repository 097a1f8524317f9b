"""One lifecycle for every process of tsunagu: the runtime it holds, the content it serves, and
the background work (inbox worker, outbox sender, scheduled jobs) that `tsunagu serve`,
`tsunagu worker` and the worker child all run the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import metrics
from bot.content.files import ContentError
from bot.db import changes, logsafety
from bot.db.engine import make_engine, make_session_factory, transaction
from bot.db.migrations import upgrade
from bot.db.models import utcnow
from bot.edge.line_client import LineClient, WebhookReader
from bot.edge.outbox import OutboxSender
from bot.journey.conversation import FlowLibrary
from bot.journey.worker import InboxWorker
from bot.nlp import trained as risk_models
from bot.platform.runtime import Runtime
from bot.releases import store as content_store
from bot.releases.load import load_content
from bot.settings import Settings
from handoff import followups, oncall, retention, waiting

log = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    # Ids, states and counts only: modules never log message text or secrets.
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().level > logging.DEBUG:
        # Two lines per job every 30 s would bury what an operator looks for; a failing or
        # missed run is still logged (error, warning).
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)


def build_runtime(settings: Settings) -> Runtime:
    if not settings.secret.strip():
        # An empty key would accept any body signed with the empty key.
        raise ValueError("the LINE channel secret must not be empty")
    engine = make_engine(settings.database_url)
    try:
        # Through the release cache: the newest release is usually these very files, and
        # `running` serves it next without loading them twice (seconds at every start).
        content = content_store.load_files(content_store.read_directory(settings.content_dir))
    except ContentError:
        content = load_content(settings.content_dir)  # raises again, naming the files in full
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
                                          now=utcnow(), limit=batch,
                                          in_language=runtime.content.for_language)

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


def queue_wait_updates(runtime: Runtime) -> int:
    """Tell waiting residents where they stand when it changed materially (handoff/waiting.py
    decides who; each update is written once whatever the number of processes)."""
    content = runtime.content
    with transaction(runtime.sessions) as session:
        return waiting.send_due_updates(session=session, places=content.places,
                                        messages=content.messages, resources=content.resources,
                                        now=utcnow(), in_language=content.for_language)


async def push_wait_updates(runtime: Runtime) -> int:
    sent = await asyncio.to_thread(queue_wait_updates, runtime)
    if sent:
        runtime.wake_outbox()
        log.info("waiting: %d updates queued", sent)
    return sent


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


def oncall_of(settings: Settings) -> oncall.OnCall:
    secret = settings.oncall_webhook_secret
    if settings.oncall_webhook_url and not secret:
        log.warning("on-call: TSUNAGU_ONCALL_WEBHOOK_SECRET is not set; alerts go unsigned")
    return oncall.OnCall(url=settings.oncall_webhook_url or None,
                         secret=secret.get_secret_value().encode() if secret else None,
                         console_url=settings.console_public_url or None)


async def escalate_emergencies(runtime: Runtime, on_call: oncall.OnCall) -> None:
    """Imminent cases nobody acknowledged in time: tell the on-call address."""
    places = runtime.content.places
    await oncall.escalate_due(sessions=runtime.sessions, oncall=on_call, now=utcnow(),
                              team_names={t.id: t.name for t in places.teams},
                              needed=places.desk.emergency.acknowledgements)


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
    scheduler.add_job(escalate_emergencies, "interval", args=[runtime, oncall_of(settings)],
                      seconds=settings.emergency_check_seconds, next_run_time=utcnow(),
                      max_instances=1, coalesce=True)
    scheduler.add_job(push_wait_updates, "interval", args=[runtime],
                      seconds=settings.wait_update_interval_seconds, next_run_time=utcnow(),
                      max_instances=1, coalesce=True)
    scheduler.add_job(asyncio.to_thread, "interval", args=[erase_expired, runtime],
                      seconds=settings.retention_check_seconds, next_run_time=utcnow(),
                      max_instances=1, coalesce=True)
    return tasks


def check_content_regularly(runtime: Runtime, scheduler: AsyncIOScheduler) -> None:
    # Catches what no signal announced (a CLI import next to a SQLite app).
    scheduler.add_job(asyncio.to_thread, "interval", args=[serve_newest_release, runtime],
                      seconds=runtime.settings.content_check_seconds, max_instances=1,
                      coalesce=True)




@contextlib.asynccontextmanager
async def running(runtime: Runtime, *, background: bool) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The process's life: schema (SQLite), the newest release, change signals and, with
    `background`, the worker, sender and jobs; everything stopped on exit. Yields the tasks so
    a caller may add its own to the same shutdown."""
    settings = runtime.settings
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
    if background:
        tasks += start_background(runtime, scheduler)
        check_content_regularly(runtime, scheduler)
        scheduler.start()
    try:
        yield tasks
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.line.close()
        runtime.engine.dispose()


async def work(settings: Settings, stop: asyncio.Event | None = None, *,
               metrics_at: tuple[str, int] | None = None) -> None:
    """`tsunagu worker`: the background work alone, until `stop` is set (or forever). With
    `metrics_at` (host, port) it also serves GET /metrics there, so the counts of what it
    processed and sent are scraped from it as from a web process."""
    logsafety.install()
    runtime = build_runtime(settings)
    async with running(runtime, background=True) as tasks:
        if metrics_at is not None:
            tasks.append(asyncio.create_task(_serve_metrics(runtime, *metrics_at),
                                             name="metrics"))
        log.info("worker ready")
        await (stop or asyncio.Event()).wait()


async def _serve_metrics(runtime: Runtime, host: str, port: int) -> None:
    from fastapi import FastAPI

    from bot.platform import exposition
    from bot.platform.server import server_config

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    exposition.mount_metrics(app, runtime.engine, runtime.settings.metrics_token)
    server = _QuietServer(server_config(app, runtime.settings, host=host, port=port))
    try:
        await server.serve()
    finally:
        server.should_exit = True


class _QuietServer(uvicorn.Server):
    """Leaves SIGTERM and SIGINT to the worker, which stops everything, this server included."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
