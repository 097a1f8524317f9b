"""GET /metrics: this process's counters (bot/metrics.py) and gauges counted from the database
when scraped, behind a bearer token."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bot.metrics import CONTENT_TYPE
from handoff.models import Case, CaseStatus, Priority

log = logging.getLogger(__name__)


class DatabaseCollector:
    """Gauges counted when scraped, on indexed columns: the inbox's pending events, the outbox's
    unfinished rows and the cases waiting in the queue by priority."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("tsunagu_database_up",
                               "1 if the gauges below could be read from the database.")
        try:
            with self.engine.connect() as conn:
                pending = conn.scalar(select(func.count()).select_from(InboxEvent).where(
                    InboxEvent.status == InboxStatus.PENDING))
                unfinished = conn.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))))
                by_priority = {priority: count for priority, count in conn.execute(
                    select(Case.priority, func.count()).where(Case.status == CaseStatus.OPEN)
                    .group_by(Case.priority))}
        except SQLAlchemyError as e:
            log.warning("metrics: database gauges unavailable (%s)", type(e).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("tsunagu_inbox_pending_events",
                                "Inbox events waiting for the worker (all processes).",
                                value=pending or 0)
        yield GaugeMetricFamily("tsunagu_outbox_unfinished_messages",
                                "Outbox rows not yet sent or given up (all processes).",
                                value=unfinished or 0)
        cases = GaugeMetricFamily("tsunagu_cases_open",
                                  "Cases waiting in the queue for a counsellor, by priority.",
                                  labels=["priority"])
        for priority in Priority:
            cases.add_metric([priority.value], by_priority.get(priority, 0))
        yield cases


def _bearer_matches(header: str | None, token: str) -> bool:
    """True when `header` is `Bearer <token>` (constant-time: no timing tells the token)."""
    if not header or not token:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode())


class _Exposition:
    """This process's metrics followed by the database gauges, as one collector."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def mount_metrics(app: FastAPI, engine: Engine, token: SecretStr | None) -> None:
    """Serve GET /metrics to whoever sends `Authorization: Bearer <token>`
    (TSUNAGU_METRICS_TOKEN). Not for the public: the balancer does not route it; Prometheus
    reaches each process directly, with the token.

    Without the token, or with none configured, the answer is the same 404 as for a path that
    does not exist: an anonymous caller learns neither the figures (how many residents wait, by
    priority) nor that there is something to guess a token for. (401 would tell a misconfigured
    Prometheus more, but its scrape fails visibly either way.)"""
    exposition = _Exposition(REGISTRY, DatabaseCollector(engine))
    secret = token.get_secret_value() if token else ""

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:  # a thread: the gauges query the database
        if not _bearer_matches(request.headers.get("authorization"), secret):
            raise HTTPException(404, "Not Found")
        return Response(generate_latest(exposition), media_type=CONTENT_TYPE)
