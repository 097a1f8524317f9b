"""The only module that uses the line-bot-sdk: reads signed webhook bodies and calls the
Messaging API, turning SDK results into plain outcomes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhooks import Event

log = logging.getLogger(__name__)


class BadSignature(Exception):
    """The body was not signed with our channel secret."""


class WebhookReader:
    """LINE's webhook bodies: the signature checked before anything is read, the JSON read once,
    each event checked against the SDK's models (an event type the SDK does not know is kept,
    as the SDK's own parser keeps it)."""

    def __init__(self, channel_secret: str) -> None:
        if not channel_secret:
            # An empty key would accept any body signed with the empty key.
            raise ValueError("the channel secret is empty")
        self._validator = SignatureValidator(channel_secret)

    def events(self, raw: bytes, signature: str) -> list[dict[str, Any]]:
        """The events of a signed body, as LINE sent them.

        Raises:
            BadSignature: the body was not signed with our channel secret.
            ValueError: the body is not a LINE webhook body.
        """
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("body is not UTF-8") from e
        if not self._validator.validate(body, signature):
            raise BadSignature
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise ValueError(f"unparseable body ({type(e).__name__})") from e
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError("events must be a list of objects")
        for event in events:
            _check_event(event)
        return events


def _check_event(event: dict[str, Any]) -> None:
    """As the SDK's own parser reads an event: a known type by its model, else as an unknown
    event (kept, and answered as such by the conversation); a shape neither takes is refused."""
    try:
        try:
            Event.from_dict(event)
        except ValueError:
            UnknownEvent.new_from_json_dict(event)
    except Exception as e:  # the SDK raises KeyError/TypeError/... on odd shapes
        raise ValueError(f"unparseable event ({type(e).__name__})") from e


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_ACCEPTED = "already_accepted"  # 409 on a retry key: LINE took an earlier attempt
    INVALID_REPLY_TOKEN = "invalid_reply_token"  # used, expired or unknown: push instead
    RETRYABLE = "retryable"  # 429, 5xx, timeouts, connection errors
    REJECTED = "rejected"  # any other 4xx: retrying the same request cannot help


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None = None
    # Short, text-free description for the outbox row and logs (LINE's error message only).
    detail: str = ""


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    language: str | None


class LineClient:
    """Async Messaging API client. One aiohttp session for the process's lifetime."""

    def __init__(self, *, base_url: str, access_token: str, timeout_seconds: float) -> None:
        self._config = Configuration(host=base_url.rstrip("/"), access_token=access_token)
        self._timeout = timeout_seconds
        self._client: AsyncApiClient | None = None

    def _api(self) -> AsyncMessagingApi:
        if self._client is None:
            self._client = AsyncApiClient(self._config)
        return AsyncMessagingApi(self._client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        return await self._call(
            self._api().reply_message_with_http_info(
                request, _request_timeout=self._timeout
            ),
            reply=True,
        )

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> SendResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return await self._call(
            self._api().push_message_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self._timeout
            ),
            reply=False,
        )

    async def show_loading(self, user_id: str, seconds: int = 5) -> SendResult:
        request = ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=seconds)
        return await self._call(
            self._api().show_loading_animation_with_http_info(
                request, _request_timeout=self._timeout
            ),
            reply=False,
        )

    async def get_profile(self, user_id: str) -> Profile:
        """Only after the resident consented to it: LINE profiles identify people."""
        p = await self._api().get_profile(user_id, _request_timeout=self._timeout)
        return Profile(user_id=p.user_id, display_name=p.display_name, language=p.language)

    async def _call(self, pending: Any, *, reply: bool) -> SendResult:
        try:
            response = await pending
        except ApiException as e:
            return _classify(e, reply=reply)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            return SendResult(Outcome.RETRYABLE, None, type(e).__name__)
        return SendResult(Outcome.SENT, getattr(response, "status_code", 200))


def _line_message(body: Any) -> str:
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return ""
    return str(data.get("message", ""))[:150] if isinstance(data, dict) else ""


def _classify(e: ApiException, *, reply: bool) -> SendResult:
    status = e.status or 0
    message = _line_message(e.body)
    if status == 409:
        return SendResult(Outcome.ALREADY_ACCEPTED, status, message)
    if status == 429 or status >= 500:
        return SendResult(Outcome.RETRYABLE, status, message)
    if reply and status == 400 and "reply token" in message.lower():
        return SendResult(Outcome.INVALID_REPLY_TOKEN, status, message)
    return SendResult(Outcome.REJECTED, status, message)
