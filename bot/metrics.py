"""Prometheus metrics: counters at the edges of the pipeline (the gauges read from the database
and the `/metrics` route are bot/platform/exposition.py).

Each process counts what it did itself and serves `/metrics` (the Prometheus text format) from
its own memory: with several processes, Prometheus scrapes every one of them (not a load
balancer in front), and `sum()` adds the counters up. The gauges are read from the database when
scraped, so every process reports the same values: take `max()` of them, not `sum()`.

Labels hold fixed words only (outcomes, `reply`/`push`, priorities): never a user id, a message
or a secret. The helpers below drop anything that is not one of those words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from bot.db.models import InboxStatus, OutboxStatus

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: a restart shows in process_start_time

WEBHOOK_EVENTS = Counter(
    "tsunagu_webhook_events_total",
    "Webhook events stored in the inbox (accepted) or already there (duplicate).",
    ["outcome"])
WEBHOOK_REJECTED = Counter(
    "tsunagu_webhook_rejected_total",
    "Webhook requests refused: signature missing or wrong or a malformed body (400), or a body "
    "over TSUNAGU_WEBHOOK_MAX_BYTES (413, too_large).",
    ["reason"])
WEBHOOK_LATENCY = Histogram(
    "tsunagu_webhook_request_duration_seconds",
    "Time to answer POST /line/webhook (verify, store, respond).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
INBOX_PROCESSED = Counter(
    "tsunagu_inbox_events_processed_total",
    "Inbox events handled by the worker: done, ignored, failed (given up) or retry (an error, "
    "left pending for another attempt).",
    ["outcome"])
OUTBOX_SENT = Counter(
    "tsunagu_outbox_messages_sent_total",
    "Outbox rows delivered to LINE (409 on a push retry counts as delivered).", ["via"])
OUTBOX_RETRIES = Counter(
    "tsunagu_outbox_retries_total",
    "Outbox sends that failed and were scheduled again (429, 5xx, timeouts).", ["via"])
OUTBOX_FAILED = Counter(
    "tsunagu_outbox_messages_failed_total",
    "Outbox rows given up (rejected by LINE, or out of attempts).", ["via"])
FOLLOWUPS_QUEUED = Counter(
    "tsunagu_followups_queued_total", "Due follow-ups written to the outbox.")
WORKER_PROCESS_READY = Gauge(
    "tsunagu_worker_process_ready",
    "With TSUNAGU_WORKER_PROCESS: 1 while the worker child runs, 0 while it starts or is "
    "replaced (events wait in the inbox meanwhile). Always 0 in other processes.")

WEBHOOK_OUTCOMES = ("accepted", "duplicate")
REJECT_REASONS = ("bad_signature", "malformed", "too_large")
INBOX_OUTCOMES = (InboxStatus.DONE, InboxStatus.IGNORED, InboxStatus.FAILED, "retry")
VIAS = ("reply", "push")
_OUTBOX_BY_STATUS: dict[str, Counter] = {
    OutboxStatus.SENT: OUTBOX_SENT, OutboxStatus.PENDING: OUTBOX_RETRIES,
    OutboxStatus.FAILED: OUTBOX_FAILED}

# Every series exists from the start at 0, so rates and alerts work before the first event.
for _value in WEBHOOK_OUTCOMES:
    WEBHOOK_EVENTS.labels(_value)
for _value in REJECT_REASONS:
    WEBHOOK_REJECTED.labels(_value)
for _value in INBOX_OUTCOMES:
    INBOX_PROCESSED.labels(_value)
for _counter in _OUTBOX_BY_STATUS.values():
    for _value in VIAS:
        _counter.labels(_value)


def webhook_stored(accepted: int, duplicates: int) -> None:
    if accepted < 0 or duplicates < 0:
        return  # the driver gave no row count (-1): count nothing rather than fail the request
    WEBHOOK_EVENTS.labels("accepted").inc(accepted)
    WEBHOOK_EVENTS.labels("duplicate").inc(duplicates)


def webhook_rejected(reason: str) -> None:
    if reason in REJECT_REASONS:
        WEBHOOK_REJECTED.labels(reason).inc()


async def time_webhook() -> AsyncIterator[None]:
    """A route dependency timing the request it belongs to."""
    start = time.perf_counter()
    try:
        yield
    finally:
        WEBHOOK_LATENCY.observe(time.perf_counter() - start)


def inbox_processed(outcome: str) -> None:
    if outcome in INBOX_OUTCOMES:
        INBOX_PROCESSED.labels(outcome).inc()


def outbox_attempted(via: str, status: str) -> None:
    counter = _OUTBOX_BY_STATUS.get(status)  # sent, pending (a retry) or failed
    if counter is not None and via in VIAS:
        counter.labels(via).inc()


def followups_queued(count: int) -> None:
    if count > 0:
        FOLLOWUPS_QUEUED.inc(count)


# What the inbox worker, the outbox and the follow-up job count: in a worker process
# (bot/platform/worker_process.py) they move there, and the web process shows them on its /metrics.
WORKER_COUNTERS: dict[str, Counter] = {
    "inbox": INBOX_PROCESSED, "sent": OUTBOX_SENT, "retries": OUTBOX_RETRIES,
    "failed": OUTBOX_FAILED, "followups": FOLLOWUPS_QUEUED}


def worker_counts() -> dict[str, dict[str, float]]:
    """The worker counters' totals so far, by counter and label value ("" for none)."""
    out: dict[str, dict[str, float]] = {}
    for name, counter in WORKER_COUNTERS.items():
        out[name] = {next(iter(sample.labels.values()), ""): sample.value
                     for metric in counter.collect() for sample in metric.samples
                     if sample.name.endswith("_total")}
    return out


class WorkerMirror:
    """In the web process: adds what the worker process counted since its last report to this
    process's own counters (which the worker's work never moves here)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], float] = {}

    def update(self, counts: dict[str, dict[str, float]]) -> None:
        for name, by_label in counts.items():
            counter = WORKER_COUNTERS.get(name)
            if counter is None:
                continue
            for label, total in by_label.items():
                if not isinstance(total, int | float) or (label and label not in (
                        *INBOX_OUTCOMES, *VIAS)):
                    continue  # only the fixed words (see the module's docstring)
                before = self.seen.get((name, label), 0.0)
                # A restarted worker counts from 0 again: all of its total is new.
                delta = total - before if total >= before else total
                self.seen[(name, label)] = total
                if delta > 0:
                    (counter.labels(label) if label else counter).inc(delta)
