"""POST /line/webhook: verify the signature, store every event, answer at once."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError

from bot import metrics
from bot.edge.inbox import check_storable
from bot.platform.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def parse_body(parser: WebhookParser, raw: bytes, signature: str) -> list[dict[str, Any]]:
    """The events of a signed body, as LINE sent them.

    Raises:
        InvalidSignatureError: the body was not signed with our channel secret.
        ValueError: the body is not a LINE webhook body.
    """
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError("body is not UTF-8") from e
    try:
        # The SDK checks the signature before it parses anything.
        parser.parse(body, signature)
    except InvalidSignatureError:
        raise
    except Exception as e:  # the SDK raises KeyError/TypeError/... on odd shapes
        raise ValueError(f"unparseable body ({type(e).__name__})") from e
    data = json.loads(body)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("events must be a list of objects")
    for event in events:
        # Refuse here (400, nothing stored) what the INSERT would fail on (a 500 LINE retries).
        check_storable(event)
    return events


@router.post("/line/webhook", dependencies=[Depends(metrics.time_webhook)])
async def line_webhook(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    signature = request.headers.get("x-line-signature")
    if not signature:
        metrics.webhook_rejected("bad_signature")
        return _error(400, "missing X-Line-Signature")
    raw = await request.body()
    try:
        events = parse_body(runtime.parser, raw, signature)
    except InvalidSignatureError:
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
