"""The resident's side: a phone-like chat page and the small API behind it.

The page never talks to the bot directly. It asks this backend to act as the LINE app would:
build a webhook event, sign it, POST it to the bot's webhook, and stream back what the bot sends
through the Messaging API stand-in. Also holds the test controls for black-box use.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlencode

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from line_emulator import events
from line_emulator.api import PREFIX
from line_emulator.state import EmulatorState

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
WEBHOOK_PATH = "line/webhook"


class ResidentEventIn(BaseModel):
    """What the resident did on the page."""

    type: Literal["text", "postback", "follow", "unfollow", "sticker", "image"]
    text: str | None = Field(default=None, max_length=5000)
    data: str | None = Field(default=None, max_length=300)
    displayText: str | None = Field(default=None, max_length=300)


class FaultsIn(BaseModel):
    statuses: list[int] = Field(default_factory=list)
    delays: list[float] = Field(default_factory=list)  # seconds, for slow answers
    # LINE's route (e.g. "/v2/bot/chat/loading/start"); none: any but the best-effort signals
    path: str | None = None


class ExpireIn(BaseModel):
    replyToken: str


def _asset_version() -> str:
    """Changes whenever a static file does, so browsers never keep an old script."""
    stamps = [int(p.stat().st_mtime) for p in STATIC_DIR.iterdir() if p.is_file()]
    return str(max(stamps, default=0))


def _check_user(user_id: str) -> None:
    if not USER_ID.match(user_id):
        raise HTTPException(400, "userId must be U followed by 32 lowercase hex digits")


def build_page_router(state: EmulatorState) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request,
            "chat.html",
            {"asset_version": _asset_version(), "bot_name": state.bot_display_name},
        )

    @router.get("/R/oaMessage/{account}/")
    async def oa_message(account: str, request: Request) -> RedirectResponse:
        """LINE's "send a text message to an account" link (https://line.me/R/oaMessage/
        {LINE ID}/?{percent-encoded text}): the chat opens with the text typed in, not sent.
        Here: the page, its compose box filled. An ID that is not this account's: LINE would
        not find it either."""
        if unquote(account) != state.bot_basic_id:
            raise HTTPException(404, f"no LINE account {unquote(account)!r} (this one is "
                                     f"{state.bot_basic_id})")
        typed = unquote(request.url.query)[:5000]
        return RedirectResponse(f"{PREFIX}/?{urlencode({'oaMessage': typed})}",
                                status_code=303)

    @router.post("/api/users/{user_id}/events")
    async def resident_event(
        user_id: str, event_in: ResidentEventIn, request: Request
    ) -> dict[str, Any]:
        _check_user(user_id)
        if event_in.type != "follow" and state.is_blocked(user_id):
            # A resident who blocked the account cannot write to it in LINE either.
            raise HTTPException(409, "blocked: send a follow event first")
        url = state.webhook_url or _own_webhook_url(request)
        event = _event_for(state, user_id, event_in)
        status = await state.post_webhook([event], url)
        return {"status": status, "event": event}

    @router.get("/api/users/{user_id}/messages")
    async def messages(user_id: str) -> dict[str, Any]:
        _check_user(user_id)
        return {
            "userId": user_id,
            "blocked": state.is_blocked(user_id),
            "entries": [e.to_json() for e in state.chat_log(user_id)],
            "markAsReadMode": state.mark_as_read_mode,
            "readUpTo": state.read_up_to(user_id),
        }

    @router.get("/api/richmenu")
    async def rich_menu(user: str | None = None) -> dict[str, Any]:
        """The rich menu `user`'s chat shows: the one linked to them, else the default
        (null: none). Without `user`, the default."""
        if user is not None:
            _check_user(user)
        menu = state.menu_for(user) if user is not None else state.default_menu()
        if menu is None:
            return {"richMenu": None}
        return {"richMenu": {**menu.to_json(), "image": f"api/richmenu/{menu.id}/image"}}

    @router.get("/api/richmenu/{menu_id}/image")
    async def rich_menu_image(menu_id: str) -> Response:
        menu = state.menu(menu_id)
        if menu is None or menu.image is None:
            raise HTTPException(404, "no such rich menu image")
        return Response(menu.image, media_type=menu.content_type,
                        headers={"Cache-Control": "private, max-age=3600"})

    @router.get("/api/users/{user_id}/stream")
    async def stream(user_id: str) -> EventSourceResponse:
        _check_user(user_id)
        shutdown = anyio.Event()

        async def items() -> AsyncIterator[dict[str, str]]:
            # Subscribed here, not in the handler: the finally below is then sure to run.
            subscriber, history = state.subscribe(user_id)
            try:
                hello = {"epoch": state.epoch, "markAsReadMode": state.mark_as_read_mode,
                         "readUpTo": state.read_up_to(user_id)}
                yield _sse("hello", hello, None)
                for entry in history:
                    yield _sse("entry", entry.to_json(), entry.seq)
                # Wake up now and then so a server shutdown ends the stream cleanly.
                while not shutdown.is_set():
                    try:
                        item = await asyncio.wait_for(subscriber.queue.get(), 0.5)
                    except TimeoutError:
                        continue
                    data = item["data"]
                    yield _sse(item["event"], data, data.get("seq"))
            finally:
                state.unsubscribe(subscriber)

        return EventSourceResponse(
            items(), ping=15, shutdown_event=shutdown, shutdown_grace_period=1.0
        )

    @router.post("/_control/faults")
    async def faults(faults_in: FaultsIn) -> dict[str, Any]:
        state.inject_faults(faults_in.statuses, path=faults_in.path)
        state.inject_delays(faults_in.delays, path=faults_in.path)
        return {"pending": state.pending_faults()}

    @router.post("/_control/expire-reply-token")
    async def expire(expire_in: ExpireIn) -> dict[str, Any]:
        state.expire_reply_token(expire_in.replyToken)
        return {"expired": expire_in.replyToken}

    @router.get("/_control/calls")
    async def calls() -> JSONResponse:
        return JSONResponse([asdict(c) for c in state.calls])

    return router


def _own_webhook_url(request: Request) -> str:
    """This server's own webhook, at the address the request reached: the listening socket's
    (the ASGI scope's `server`), never a header such as Host, which the caller writes and which
    would let it have signed events posted anywhere."""
    server = request.scope.get("server")
    if not server or server[1] is None:
        raise HTTPException(503, "the emulator cannot tell its own address (set webhook_url)")
    host, port = str(server[0]), int(server[1])
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"http://{host}:{port}/{WEBHOOK_PATH}"


def _sse(event: str, data: dict[str, Any], seq: Any) -> dict[str, str]:
    item = {"event": event, "data": json.dumps(data, ensure_ascii=False)}
    if seq is not None:
        item["id"] = str(seq)
    return item


def _event_for(state: EmulatorState, user_id: str, event_in: ResidentEventIn) -> events.Event:
    """Builds the webhook event and puts what the resident did on their chat screen.

    The chat line is written before the webhook is called: the bot may answer before the
    webhook request returns, and the resident's words must come first on the screen.
    """
    kind = event_in.type
    if kind == "text" and not (event_in.text or "").strip():
        raise HTTPException(422, "text must not be empty")
    if kind == "postback" and event_in.data is None:
        raise HTTPException(422, "data is required for a postback")
    if kind == "unfollow":
        state.register_user(user_id)
        state.set_blocked(user_id, True)
        state.append(user_id, "system", {"type": "unfollow"}, "system")
        return events.unfollow_event(user_id)
    token = state.issue_reply_token(user_id)
    if kind == "follow":
        was_blocked = state.set_blocked(user_id, False)
        state.append(user_id, "system", {"type": "follow", "isUnblocked": was_blocked}, "system")
        return events.follow_event(user_id, is_unblocked=was_blocked, reply_token=token)
    if kind == "text":
        text = event_in.text or ""
        entry = state.append(user_id, "resident", {"type": "text", "text": text}, "resident")
        return events.text_event(user_id, text, reply_token=token,
                                 mark_as_read_token=state.issue_read_token(user_id, entry.seq))
    if kind == "postback":
        data = event_in.data or ""
        if event_in.displayText:
            shown = {"type": "text", "text": event_in.displayText}
            state.append(user_id, "resident", shown, "resident")
        return events.postback_event(user_id, data, reply_token=token)
    if kind == "sticker":
        event = events.sticker_event(user_id, reply_token=token)
        sticker = {k: event["message"][k] for k in ("type", "packageId", "stickerId")}
        entry = state.append(user_id, "resident", sticker, "resident")
        event["message"]["markAsReadToken"] = state.issue_read_token(user_id, entry.seq)
        return event
    entry = state.append(user_id, "resident", {"type": "image"}, "resident")
    return events.image_event(user_id, reply_token=token,
                              mark_as_read_token=state.issue_read_token(user_id, entry.seq))
