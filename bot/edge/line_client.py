"""The only module that calls `linebot.v3.messaging`. Turns SDK results into plain outcomes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)

log = logging.getLogger(__name__)


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
