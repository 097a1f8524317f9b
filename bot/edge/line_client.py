"""The only module that uses the line-bot-sdk: reads signed webhook bodies and calls the
Messaging API, turning SDK results into plain outcomes."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
import urllib3
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
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
        # Loading animations on their way, by chat: an answer to that chat waits for its own.
        self._loading: dict[str, asyncio.Task[SendResult]] = {}

    def _api(self) -> AsyncMessagingApi:
        if self._client is None:
            self._client = AsyncApiClient(self._config)
        return AsyncMessagingApi(self._client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def reply(self, reply_token: str, messages: list[dict[str, Any]],
                    silent: bool = False) -> SendResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages,
                                                 **_silent(silent)})
        return await self._call(
            self._api().reply_message_with_http_info(
                request, _request_timeout=self._timeout
            ),
            reply=True,
        )

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str,
                   silent: bool = False) -> SendResult:
        # notificationDisabled: the resident asked for messages without sound (contact rules).
        request = PushMessageRequest.from_dict({"to": to, "messages": messages,
                                                **_silent(silent)})
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

    def start_loading(self, chat_id: str, seconds: int = 5) -> None:
        """LINE's loading animation in a one-on-one chat, in the background and best effort:
        nobody waits for it and its failures only log. Call from the client's event loop. A
        chat that has one on its way gets no second; an answer to the chat waits for it first
        (`loading_sent`), so the animation never starts after the answer it stands for."""
        if chat_id in self._loading:
            return
        task = asyncio.create_task(self._loading_call(chat_id, seconds))
        self._loading[chat_id] = task
        task.add_done_callback(lambda done: self._loading_done(chat_id, done))

    async def _loading_call(self, chat_id: str, seconds: int) -> SendResult:
        try:
            result = await self.show_loading(chat_id, seconds)
        except Exception as e:  # best effort: nothing about it may reach the caller
            result = SendResult(Outcome.RETRYABLE, None, type(e).__name__)
        if result.outcome != Outcome.SENT:
            log.info("loading animation not shown: %s %s", result.status or "",
                     result.detail or result.outcome)
        return result

    def _loading_done(self, chat_id: str, task: asyncio.Task[SendResult]) -> None:
        if self._loading.get(chat_id) is task:
            del self._loading[chat_id]

    async def loading_sent(self, chat_id: str) -> None:
        """Returns once the chat's loading animation (if one is on its way) was answered."""
        task = self._loading.get(chat_id)
        if task is not None:
            await asyncio.wait({task}, timeout=self._timeout)

    async def mark_as_read(self, token: str) -> SendResult:
        """Marks the resident's message of this markAsReadToken, and those before it, read."""
        request = MarkMessagesAsReadByTokenRequest(markAsReadToken=token)
        return await self._call(
            self._api().mark_messages_as_read_by_token_with_http_info(
                request, _request_timeout=self._timeout
            ),
            reply=False,
        )

    async def link_rich_menu(self, user_id: str, menu_id: str) -> SendResult:
        """The resident's own rich menu (the one in their language), instead of the default."""
        return await self._call(
            self._api().link_rich_menu_id_to_user_with_http_info(
                user_id, menu_id, _request_timeout=self._timeout),
            reply=False,
        )

    async def unlink_rich_menu(self, user_id: str) -> SendResult:
        """Back to the default rich menu."""
        return await self._call(
            self._api().unlink_rich_menu_id_from_user_with_http_info(
                user_id, _request_timeout=self._timeout),
            reply=False,
        )

    async def rich_menus(self) -> list[RichMenuInfo] | None:
        """The channel's rich menus (None: LINE did not answer)."""
        try:
            found = await self._api().get_rich_menu_list(_request_timeout=self._timeout)
        except (ApiException, TimeoutError, aiohttp.ClientError, OSError) as e:
            log.info("rich menu list not read: %s", type(e).__name__)
            return None
        return [RichMenuInfo(str(m.rich_menu_id), str(m.name)) for m in found.richmenus]

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


class LineApiError(Exception):
    """LINE refused a request or could not be reached: its status (None: no answer) and what
    it said (its message and the details of a 400)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status or 'no answer'}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RichMenuInfo:
    id: str
    name: str


class RichMenuClient:
    """The rich menu's calls: an operator's command runs them once, so they are synchronous
    (the SDK's MessagingApi, and MessagingApiBlob at the data API for the image)."""

    def __init__(self, *, base_url: str, data_base_url: str, access_token: str,
                 timeout_seconds: float) -> None:
        def client(host: str) -> ApiClient:
            return ApiClient(Configuration(host=host.rstrip("/"), access_token=access_token))

        self._api_client, self._blob_client = client(base_url), client(data_base_url)
        self._api = MessagingApi(self._api_client)
        self._blob = MessagingApiBlob(self._blob_client)
        self._timeout = timeout_seconds

    def close(self) -> None:
        self._api_client.close()
        self._blob_client.close()

    def validate(self, menu: dict[str, Any]) -> None:
        self._run(self._api.validate_rich_menu_object, RichMenuRequest.from_dict(menu))

    def create(self, menu: dict[str, Any]) -> str:
        created = self._run(self._api.create_rich_menu, RichMenuRequest.from_dict(menu))
        return str(created.rich_menu_id)

    def upload_image(self, menu_id: str, image: bytes, content_type: str) -> None:
        # The SDK ignores `_content_type` here: the header itself says what the image is.
        self._run(self._blob.set_rich_menu_image, menu_id, image,
                  _headers={"Content-Type": content_type})

    def set_default(self, menu_id: str) -> None:
        self._run(self._api.set_default_rich_menu, menu_id)

    def menus(self) -> list[RichMenuInfo]:
        found = self._run(self._api.get_rich_menu_list)
        return [RichMenuInfo(str(m.rich_menu_id), str(m.name)) for m in found.richmenus]

    def delete(self, menu_id: str) -> None:
        self._run(self._api.delete_rich_menu, menu_id)

    def _run(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, _request_timeout=self._timeout, **kwargs)
        except ApiException as e:
            raise LineApiError(e.status, _line_error(e.body)) from e
        except (OSError, urllib3.exceptions.HTTPError) as e:  # unreachable, timed out
            raise LineApiError(None, type(e).__name__) from e


def _line_error(body: Any) -> str:
    """LINE's message and, for a 400, each detail's property and message."""
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    details = [f"{d.get('property', '')}: {d.get('message', '')}"
               for d in data.get("details") or [] if isinstance(d, dict)]
    return "; ".join([str(data.get("message", "")), *details])[:1000]


def _silent(silent: bool) -> dict[str, bool]:
    """LINE's notificationDisabled, sent only when asked (its default is false)."""
    return {"notificationDisabled": True} if silent else {}
