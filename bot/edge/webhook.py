"""POST /line/webhook: verify the signature, store every event, answer at once."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from bot import metrics
from bot.edge.inbox import check_storable
from bot.edge.ingest import InboxWriter
from bot.edge.line_client import BadSignature, WebhookReader

log = logging.getLogger(__name__)
router = APIRouter()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class WebhookHost(Protocol):
    """What the webhook needs of the process it runs in."""

    webhook_reader: WebhookReader
    inbox: InboxWriter

    def wake_worker(self) -> None: ...


def parse_body(reader: WebhookReader, raw: bytes, signature: str) -> list[dict[str, Any]]:
    """The events of a signed body, each one storable.

    Raises:
        BadSignature: the body was not signed with our channel secret.
        ValueError: the body is not a LINE webhook body.
    """
    events = reader.events(raw, signature)
    for event in events:
        # Refuse here (400, nothing stored) what the INSERT would fail on (a 500 LINE retries).
        check_storable(event)
    return events


@router.post("/line/webhook", dependencies=[Depends(metrics.time_webhook)])
async def line_webhook(request: Request) -> JSONResponse:
    runtime: WebhookHost = request.app.state.runtime
    signature = request.headers.get("x-line-signature")
    if not signature:
        metrics.webhook_rejected("bad_signature")
        return _error(400, "missing X-Line-Signature")
    raw = await request.body()
    try:
        events = parse_body(runtime.webhook_reader, raw, signature)
    except BadSignature:
        log.warning("webhook rejected: invalid signature (%d bytes)", len(raw))
        metrics.webhook_rejected("bad_signature")
        return _error(400, "invalid signature")
    except ValueError as e:
        log.warning("webhook rejected: %s", e)
        metrics.webhook_rejected("malformed")
        return _error(400, "malformed webhook body")

    # Committed before the 200: an acknowledged event is never lost. A database failure
    # raises here, and the 500 makes LINE deliver the body again.
    result = await runtime.inbox.store(events)
    accepted, duplicates = result.accepted, result.duplicates
    metrics.webhook_stored(accepted, duplicates)
    log.info("webhook: %d events accepted, %d duplicates", accepted, duplicates)
    if accepted:
        runtime.wake_worker()
    return JSONResponse({})
