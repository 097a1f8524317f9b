"""The Messaging API stand-in: the routes the bot reaches through the real line-bot-sdk.

Each route answers what LINE answers (messaging-api.yml): the same status codes, the same
`ErrorResponse` bodies, `x-line-request-id` on every response. Routes parse the raw body
themselves because LINE answers malformed requests with its own 400 body, not FastAPI's 422.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from line_emulator import events
from line_emulator.state import EmulatorState, RecordedCall
from line_emulator.validation import (
    Problem,
    check_menu_image,
    validate_messages,
    validate_rich_menu,
)

PREFIX = "/emulator"
AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
INVALID_REPLY_TOKEN = "Invalid reply token"
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
INVALID_RETRY_KEY = "The value for the 'X-Line-Retry-Key' header is invalid"
INVALID_READ_TOKEN = (
    "An invalid markAsReadToken is specified. "
    "Tokens must be used by the bot that received them via Webhook."
)
NO_MENU_IMAGE = "must upload richmenu image before applying it to user"
IMAGE_ALREADY_UPLOADED = "An image has already been uploaded to the richmenu"
# Linking a menu that does not exist is a 400 at LINE, not the 404 of the other menu routes.
MENU_NOT_FOUND = "richmenu not found"
USER_HAS_NO_MENU = "the user has no richmenu"

# What LINE says for statuses a test injects; anything else gets the HTTP reason phrase.
FAULT_MESSAGES = {
    400: "The request body has 1 error(s)",
    401: AUTH_FAILED,
    403: "Access to this API is not available for your account",
    404: "Not found",
    409: RETRY_KEY_ACCEPTED,
    413: "Request entity too large",
    429: RATE_LIMITED,
    500: "Internal server error",
}

USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# Group and room chats are valid push targets for LINE even though the emulator has none.
PUSH_TARGET = re.compile(r"^[UCR][0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Message types a user can quote; LINE returns a quoteToken only for those.
QUOTABLE = frozenset({"text", "textV2", "sticker", "image", "video", "audio", "location"})

_UNPARSED = object()


@dataclass(frozen=True)
class Incoming:
    body: Any  # parsed JSON, or _UNPARSED; the raw bytes for a binary route
    request_id: str
    retry_key: str | None
    content_type: str | None = None


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | bytes  # bytes: a blob (the data API's downloads)
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None  # of a blob


Handler = Callable[[Incoming], Answer]


def error(status: int, message: str, **extra: Any) -> Answer:
    return Answer(status, {"message": message, **extra})


def invalid(problems: list[Problem]) -> Answer:
    details = [{"message": message, "property": prop} for prop, message in problems]
    return error(400, f"The request body has {len(problems)} error(s)", details=details)


def fault(status: int) -> Answer:
    try:
        default = HTTPStatus(status).phrase
    except ValueError:
        default = "Error"
    return error(status, FAULT_MESSAGES.get(status, default))


def sent_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for message in messages:
        sent = {"id": events.new_message_id()}
        if message.get("type") in QUOTABLE:
            sent["quoteToken"] = events.new_quote_token()
        out.append(sent)
    return out


def build_api_router(state: EmulatorState) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def serve(request: Request, handler: Handler, *, binary: bool = False) -> Response:
        raw = await request.body()
        body: Any = raw if binary else None
        if raw and not binary:
            try:
                body = json.loads(raw)
            except ValueError:
                body = _UNPARSED
        incoming = Incoming(
            body=body,
            request_id=state.new_request_id(),
            retry_key=request.headers.get("X-Line-Retry-Key"),
            content_type=request.headers.get("Content-Type"),
        )
        path = request.url.path.removeprefix(PREFIX)
        auth_ok = _authorized(request.headers.get("Authorization"), state.access_token)
        delay = state.take_delay(path)
        injected = state.take_fault(path)
        if injected is not None:
            answer = fault(injected)
        elif not auth_ok:
            answer = error(401, AUTH_FAILED)
        elif body is _UNPARSED:
            answer = error(400, "The request body could not be parsed as JSON")
        else:
            answer = handler(incoming)
        if binary:
            recorded: Any = {"contentType": incoming.content_type, "bytes": len(raw)}
        else:
            recorded = raw.decode("utf-8", "replace") if body is _UNPARSED else body
        state.record_call(
            RecordedCall(
                time=time.time(),
                method=request.method,
                path=path,
                status=answer.status,
                retry_key=incoming.retry_key,
                body=recorded,
                auth_ok=auth_ok,
                request_id=incoming.request_id,
            )
        )
        headers = {"x-line-request-id": incoming.request_id, **answer.headers}
        if delay:
            await asyncio.sleep(delay)  # already taken: only the answer is late
        if isinstance(answer.body, bytes):
            return Response(answer.body, status_code=answer.status, headers=headers,
                            media_type=answer.media_type)
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    def reply(call: Incoming) -> Answer:
        body = call.body if isinstance(call.body, dict) else {}
        problems: list[Problem] = []
        if not body.get("replyToken"):
            problems.append(("replyToken", "May not be empty"))
        problems += validate_messages(body.get("messages"))
        problems += _notification_disabled(body)
        if problems:
            return invalid(problems)
        # A request LINE refuses does not spend the token; only a delivered reply does.
        user_id = state.use_reply_token(body["replyToken"])
        if user_id is None:
            return error(400, INVALID_REPLY_TOKEN)
        messages = body["messages"]
        state.deliver(user_id, messages, "reply")
        return Answer(200, {"sentMessages": sent_messages(messages)})

    def push(call: Incoming) -> Answer:
        key = call.retry_key
        if key is not None and not UUID.match(key):
            return error(400, INVALID_RETRY_KEY)
        body = call.body if isinstance(call.body, dict) else {}
        to = body.get("to")
        if not to:
            return invalid([("to", "May not be empty")])
        if not isinstance(to, str) or not PUSH_TARGET.match(to):
            return error(
                400, "The property, 'to', in the request body is invalid (line: -, column: -)"
            )
        problems = validate_messages(body.get("messages")) + _notification_disabled(body)
        if problems:
            return invalid(problems)
        messages = body["messages"]
        sent = sent_messages(messages)
        if key is not None:
            earlier = state.accept_push(key, call.request_id, sent)
            if earlier is not None:
                # Delivered the first time: LINE sends nothing again and says what it sent.
                return _already_accepted(*earlier)
        state.deliver(to, messages, "push")
        return Answer(200, {"sentMessages": sent})

    def loading(call: Incoming) -> Answer:
        body = call.body if isinstance(call.body, dict) else {}
        chat_id = body.get("chatId")
        if not chat_id:
            return invalid([("chatId", "May not be empty")])
        if not isinstance(chat_id, str) or not USER_ID.match(chat_id):
            return error(400, "The property, 'chatId', in the request body is invalid")
        seconds = body.get("loadingSeconds", 20)  # LINE's default
        if (
            not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or not 5 <= seconds <= 60
            or seconds % 5
        ):
            return invalid([("loadingSeconds", "Must be a multiple of 5 between 5 and 60")])
        state.show_loading(chat_id, seconds)
        return Answer(202, {})

    def mark_as_read(call: Incoming) -> Answer:
        body = call.body if isinstance(call.body, dict) else {}
        token = body.get("markAsReadToken")
        if token is None or token == "":
            return invalid([("markAsReadToken", "May not be empty")])
        if not isinstance(token, str):
            return invalid([("markAsReadToken", "Must be a string")])
        if not state.mark_read(token):
            return error(400, INVALID_READ_TOKEN)
        return Answer(200, {})

    # ------------------------------------------------------------ rich menus

    def create_menu(call: Incoming) -> Answer:
        problems = validate_rich_menu(call.body)
        if problems:
            return invalid(problems)
        return Answer(200, {"richMenuId": state.create_menu(call.body)})

    def validate_menu(call: Incoming) -> Answer:
        problems = validate_rich_menu(call.body)
        return invalid(problems) if problems else Answer(200, {})

    def menu_list(call: Incoming) -> Answer:
        return Answer(200, {"richmenus": [m.to_json() for m in state.menus()]})

    def get_menu(menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            menu = state.menu(menu_id)
            return Answer(200, menu.to_json()) if menu else error(404, "Not found")

        return handle

    def delete_menu(menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            return Answer(200, {}) if state.delete_menu(menu_id) else error(404, "Not found")

        return handle

    def upload_image(menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            menu = state.menu(menu_id)
            if menu is None:
                return error(404, "Not found")
            data = call.body if isinstance(call.body, bytes) else b""
            why = check_menu_image(data, call.content_type, menu.body.get("size") or {})
            if why is not None:
                return error(400, why)
            kind = (call.content_type or "").split(";")[0].strip().lower()
            if not state.set_menu_image(menu_id, data, kind):
                return error(400, IMAGE_ALREADY_UPLOADED)
            return Answer(200, {})

        return handle

    def download_image(menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            menu = state.menu(menu_id)
            if menu is None or menu.image is None:
                return error(404, "Not found")
            return Answer(200, menu.image, media_type=menu.content_type)

        return handle

    def set_default(menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            menu = state.menu(menu_id)
            if menu is None:
                return error(404, "Not found")
            if menu.image is None:
                return error(400, NO_MENU_IMAGE)
            state.set_default_menu(menu_id)
            return Answer(200, {})

        return handle

    def get_default(call: Incoming) -> Answer:
        menu = state.default_menu()
        return Answer(200, {"richMenuId": menu.id}) if menu else error(404, "Not found")

    def cancel_default(call: Incoming) -> Answer:
        state.set_default_menu(None)
        return Answer(200, {})

    def link_menu(user_id: str, menu_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            menu = state.menu(menu_id)
            if menu is None:
                return error(400, MENU_NOT_FOUND)
            if menu.image is None:
                return error(400, NO_MENU_IMAGE)
            # Deleted since the look-up: the same answer as if it had never been.
            if not state.link_menu(user_id, menu_id):
                return error(400, MENU_NOT_FOUND)
            return Answer(200, {})

        return handle

    def unlink_menu(user_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            state.unlink_menu(user_id)  # nothing linked is no error at LINE
            return Answer(200, {})

        return handle

    def get_user_menu(user_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            # Only a menu linked to this user: LINE does not answer with the default here.
            menu = state.linked_menu(user_id)
            if menu is None:
                return error(404, USER_HAS_NO_MENU)
            return Answer(200, {"richMenuId": menu.id})

        return handle

    def profile(user_id: str) -> Handler:
        def handle(call: Incoming) -> Answer:
            name = state.display_name(user_id)
            if name is None:
                return error(404, "Not found")
            return Answer(200, {"userId": user_id, "displayName": name, "language": "ja"})

        return handle

    def bot_info(call: Incoming) -> Answer:
        return Answer(
            200,
            {
                "userId": state.bot_user_id,
                "basicId": state.bot_basic_id,
                "displayName": state.bot_display_name,
                "chatMode": state.chat_mode,
                "markAsReadMode": state.mark_as_read_mode,
            },
        )

    def not_found(call: Incoming) -> Answer:
        return error(404, "Not found")

    @router.post("/v2/bot/message/reply")
    async def reply_route(request: Request) -> Response:
        return await serve(request, reply)

    @router.post("/v2/bot/message/push")
    async def push_route(request: Request) -> Response:
        return await serve(request, push)

    @router.post("/v2/bot/chat/loading/start")
    async def loading_route(request: Request) -> Response:
        return await serve(request, loading)

    @router.post("/v2/bot/chat/markAsRead")
    async def mark_as_read_route(request: Request) -> Response:
        return await serve(request, mark_as_read)

    @router.get("/v2/bot/profile/{user_id}")
    async def profile_route(request: Request, user_id: str) -> Response:
        return await serve(request, profile(user_id))

    @router.get("/v2/bot/info")
    async def bot_info_route(request: Request) -> Response:
        return await serve(request, bot_info)

    # Rich menus. The fixed paths come before /v2/bot/richmenu/{richMenuId}.
    @router.post("/v2/bot/richmenu")
    async def create_menu_route(request: Request) -> Response:
        return await serve(request, create_menu)

    @router.post("/v2/bot/richmenu/validate")
    async def validate_menu_route(request: Request) -> Response:
        return await serve(request, validate_menu)

    @router.get("/v2/bot/richmenu/list")
    async def menu_list_route(request: Request) -> Response:
        return await serve(request, menu_list)

    @router.get("/v2/bot/richmenu/{menu_id}")
    async def get_menu_route(request: Request, menu_id: str) -> Response:
        return await serve(request, get_menu(menu_id))

    @router.delete("/v2/bot/richmenu/{menu_id}")
    async def delete_menu_route(request: Request, menu_id: str) -> Response:
        return await serve(request, delete_menu(menu_id))

    # The data API (api-data.line.me): the emulator serves it at the same address.
    @router.post("/v2/bot/richmenu/{menu_id}/content")
    async def upload_image_route(request: Request, menu_id: str) -> Response:
        return await serve(request, upload_image(menu_id), binary=True)

    @router.get("/v2/bot/richmenu/{menu_id}/content")
    async def download_image_route(request: Request, menu_id: str) -> Response:
        return await serve(request, download_image(menu_id))

    @router.post("/v2/bot/user/all/richmenu/{menu_id}")
    async def set_default_route(request: Request, menu_id: str) -> Response:
        return await serve(request, set_default(menu_id))

    @router.get("/v2/bot/user/all/richmenu")
    async def get_default_route(request: Request) -> Response:
        return await serve(request, get_default)

    @router.delete("/v2/bot/user/all/richmenu")
    async def cancel_default_route(request: Request) -> Response:
        return await serve(request, cancel_default)

    # Per-user menus: after the default's routes, so "all" is never taken for a user id.
    @router.post("/v2/bot/user/{user_id}/richmenu/{menu_id}")
    async def link_menu_route(request: Request, user_id: str, menu_id: str) -> Response:
        return await serve(request, link_menu(user_id, menu_id))

    @router.get("/v2/bot/user/{user_id}/richmenu")
    async def get_user_menu_route(request: Request, user_id: str) -> Response:
        return await serve(request, get_user_menu(user_id))

    @router.delete("/v2/bot/user/{user_id}/richmenu")
    async def unlink_menu_route(request: Request, user_id: str) -> Response:
        return await serve(request, unlink_menu(user_id))

    # Anything else the bot calls is recorded too, so a test can see an unexpected call.
    @router.api_route("/v2/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def other_route(request: Request, rest: str) -> Response:
        return await serve(request, not_found)

    return router


def _authorized(header: str | None, token: str) -> bool:
    if not header:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def _notification_disabled(body: dict[str, Any]) -> list[Problem]:
    value = body.get("notificationDisabled")
    if value is not None and not isinstance(value, bool):
        return [("notificationDisabled", "Must be a boolean")]
    return []


def _already_accepted(request_id: str, sent: list[dict[str, str]]) -> Answer:
    return Answer(
        409,
        {"message": RETRY_KEY_ACCEPTED, "sentMessages": sent},
        headers={"x-line-accepted-request-id": request_id},
    )
