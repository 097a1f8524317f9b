"""The resident's side: the chat page, its events endpoint (signed webhooks) and live stream."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from line_emulator import EmulatorState, events
from linebot.v3.messaging import (
    ApiException,
    AsyncMessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from .conftest import SECRET, Server
from .test_api import ready_menu


async def send(server: Server, user: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.url}/emulator/api/users/{user}/events", json=payload)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_the_page_is_served_with_its_assets(server: Server) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        page = await client.get(f"{server.url}/emulator")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "tsunagu（LINEエミュレーター）" in page.text
        assert "新しい相談者として始める" in page.text
        for asset in ("chat.js", "chat.css"):
            r = await client.get(f"{server.url}/emulator/static/{asset}")
            assert r.status_code == 200, asset


async def test_a_text_reaches_the_webhook_signed_and_its_token_replies_once(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    result = await send(server, user, {"type": "text", "text": "こんにちは"})
    assert result["status"] == 200

    (raw,) = server.webhook.bodies
    assert server.webhook.rejected == 0
    # The webhook verified it with the SDK's WebhookParser; check the recipe by hand as well.
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert server.webhook.signatures == [expected]
    assert json.loads(raw)["destination"] == emulator.bot_user_id

    (event,) = server.webhook.events
    assert isinstance(event, MessageEvent)
    assert isinstance(event.message, TextMessageContent)
    assert event.message.text == "こんにちは"
    assert event.source.user_id == user
    assert event.reply_token == result["event"]["replyToken"]
    assert len(event.webhook_event_id) == 26

    request = ReplyMessageRequest(
        replyToken=event.reply_token,
        messages=[TextMessage(text="お話しくださり、ありがとうございます。")],
    )
    await line_api.reply_message(request)
    with pytest.raises(ApiException) as again:
        await line_api.reply_message(request)
    assert again.value.status == 400

    async with httpx.AsyncClient() as client:
        log = (await client.get(f"{server.url}/emulator/api/users/{user}/messages")).json()
    assert [(e["sender"], e["message"]["text"]) for e in log["entries"]] == [
        ("resident", "こんにちは"),
        ("bot", "お話しくださり、ありがとうございます。"),
    ]
    assert [e["via"] for e in log["entries"]] == ["resident", "reply"]


async def test_the_stream_sends_history_then_live_replies(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    result = await send(server, user, {"type": "text", "text": "相談したいです"})
    token = result["event"]["replyToken"]
    seen: list[tuple[str, dict[str, Any]]] = []
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", f"{server.url}/emulator/api/users/{user}/stream") as stream,
    ):
        event_name = ""
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event_name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                seen.append((event_name, json.loads(line.removeprefix("data:"))))
                if len(seen) == 2:  # greeting and history arrived: now the bot answers, live
                    await line_api.show_loading_animation(
                        ShowLoadingAnimationRequest(chatId=user, loadingSeconds=5)
                    )
                    reply = TextMessage(text="はい、お聞きします。")
                    await line_api.reply_message(
                        ReplyMessageRequest(replyToken=token, messages=[reply])
                    )
                if len(seen) == 4:
                    break
    assert seen[0] == (
        "hello", {"epoch": emulator.epoch, "markAsReadMode": "auto", "readUpTo": 0}
    )
    assert seen[1][0] == "entry" and seen[1][1]["message"]["text"] == "相談したいです"
    assert seen[2] == ("loading", {"seconds": 5})
    assert seen[3][0] == "entry"
    assert seen[3][1]["sender"] == "bot"
    assert seen[3][1]["message"]["text"] == "はい、お聞きします。"


async def test_postback_shows_the_display_text_and_sends_only_data(
    server: Server, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    payload = {"type": "postback", "data": "cat=money", "displayText": "お金のこと"}
    result = await send(server, user, payload)
    (event,) = server.webhook.events
    assert isinstance(event, PostbackEvent)
    assert event.postback.data == "cat=money"
    assert "displayText" not in json.dumps(result["event"])
    assert [e.message for e in emulator.chat_log(user)] == [{"type": "text", "text": "お金のこと"}]


async def test_sticker_and_image_events(server: Server) -> None:
    user = events.new_user_id()
    sticker = (await send(server, user, {"type": "sticker"}))["event"]
    image = (await send(server, user, {"type": "image"}))["event"]
    assert sticker["message"]["stickerResourceType"] == "STATIC"
    assert image["message"]["contentProvider"] == {"type": "line"}
    assert [type(e) for e in server.webhook.events] == [MessageEvent, MessageEvent]


async def test_block_and_unblock(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    first = await send(server, user, {"type": "follow"})
    assert first["event"]["follow"] == {"isUnblocked": False}
    unfollow = await send(server, user, {"type": "unfollow"})
    assert "replyToken" not in unfollow["event"]

    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{server.url}/emulator/api/users/{user}/events", json={"type": "text", "text": "x"}
        )
    assert r.status_code == 409  # a resident who blocked the account cannot write to it

    again = await send(server, user, {"type": "follow"})
    assert again["event"]["follow"] == {"isUnblocked": True}
    follow, unfollowed, refollow = server.webhook.events
    assert isinstance(follow, FollowEvent) and isinstance(refollow, FollowEvent)
    assert isinstance(unfollowed, UnfollowEvent)
    assert [e.sender for e in emulator.chat_log(user)] == ["system"] * 3


async def test_webhook_failures_are_reported_to_the_page(
    server: Server, emulator: EmulatorState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator, "webhook_url", f"{server.url}/nowhere")
    result = await send(server, events.new_user_id(), {"type": "text", "text": "もしもし"})
    assert result["status"] == 404


async def test_bad_page_requests_are_refused(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        base = f"{server.url}/emulator/api/users"
        r = await client.post(f"{base}/not-a-user/events", json={"type": "follow"})
        assert r.status_code == 400
        user = events.new_user_id()
        r = await client.post(f"{base}/{user}/events", json={"type": "text", "text": " "})
        assert r.status_code == 422
        r = await client.post(f"{base}/{user}/events", json={"type": "dance"})
        assert r.status_code == 422
    assert server.webhook.bodies == []


async def test_faults_through_the_control_endpoint(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.url}/emulator/_control/faults", json={"statuses": [503]})
    assert r.json() == {"pending": [503]}
    with pytest.raises(ApiException) as fault:
        await line_api.get_bot_info()
    assert fault.value.status == 503
    await line_api.get_bot_info()
    assert emulator.pending_faults() == []

    token = emulator.issue_reply_token(events.new_user_id())
    async with httpx.AsyncClient() as client:
        base = f"{server.url}/emulator/_control"
        await client.post(f"{base}/expire-reply-token", json={"replyToken": token})
        calls = (await client.get(f"{base}/calls")).json()
    assert [(c["path"], c["status"]) for c in calls] == [
        ("/v2/bot/info", 503),
        ("/v2/bot/info", 200),
    ]
    with pytest.raises(ApiException) as expired:
        await line_api.reply_message(
            ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="x")])
        )
    assert expired.value.status == 400


async def test_wait_for_bot_messages(line_api: AsyncMessagingApi, emulator: EmulatorState) -> None:
    user = events.new_user_id()
    token = emulator.issue_reply_token(user)
    await line_api.reply_message(
        ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="一")])
    )
    assert await emulator.async_wait_for_bot_messages(user, 1, within=1) == [
        {"type": "text", "text": "一"}
    ]


async def shown_menu(server: Server, user: str | None = None) -> str | None:
    """The id of the rich menu the page shows this user (no user: the default)."""
    params = {"user": user} if user else {}
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{server.url}/emulator/api/richmenu", params=params)
    assert r.status_code == 200, r.text
    shown: dict[str, Any] | None = r.json()["richMenu"]
    return shown["richMenuId"] if shown else None


async def test_each_user_sees_their_linked_menu_else_the_default(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    default = await ready_menu(line_api, emulator, "default")
    own = await ready_menu(line_api, emulator, "own")
    await line_api.set_default_rich_menu(default)
    user, other = events.new_user_id(), events.new_user_id()

    await line_api.link_rich_menu_id_to_user(user, own)
    assert await shown_menu(server, user) == own
    assert await shown_menu(server, other) == default
    assert await shown_menu(server) == default

    await line_api.unlink_rich_menu_id_from_user(user)
    assert await shown_menu(server, user) == default
    await line_api.cancel_default_rich_menu()
    assert await shown_menu(server, user) is None

    async with httpx.AsyncClient() as client:
        r = await client.get(f"{server.url}/emulator/api/richmenu", params={"user": "nobody"})
    assert r.status_code == 400


async def menu_events(server: Server, user: str, subscribed: asyncio.Event) -> list[str]:
    """The events of `user`'s stream after its greeting, up to the first chat entry."""
    seen: list[str] = []
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{server.url}/emulator/api/users/{user}/stream") as stream,
    ):
        async for line in stream.aiter_lines():
            if not line.startswith("event:"):
                continue
            kind = line.removeprefix("event:").strip()
            if kind == "hello":
                subscribed.set()  # the stream subscribes before it greets
                continue
            seen.append(kind)
            if kind == "entry":
                break
    return seen


async def test_a_link_is_told_only_to_that_users_chat(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    linked_id = await ready_menu(line_api, emulator, "linked")
    default = await ready_menu(line_api, emulator, "default")
    user, other = events.new_user_id(), events.new_user_id()
    ready = {u: asyncio.Event() for u in (user, other)}
    watching = {u: asyncio.create_task(menu_events(server, u, ready[u])) for u in ready}
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready.values())), 10)

    await line_api.link_rich_menu_id_to_user(user, linked_id)
    await line_api.unlink_rich_menu_id_from_user(user)
    await line_api.link_rich_menu_id_to_user(user, linked_id)
    await line_api.delete_rich_menu(linked_id)  # unlinks `user`: their menu changes again
    await line_api.set_default_rich_menu(default)  # everyone's menu changes
    for u in ready:  # a chat entry ends each stream's record
        await line_api.push_message(PushMessageRequest(to=u, messages=[TextMessage(text="…")]))
    seen = await asyncio.wait_for(asyncio.gather(*watching.values()), 10)

    assert dict(zip(watching, seen, strict=True)) == {
        user: ["richmenu"] * 5 + ["entry"],
        other: ["richmenu", "entry"],
    }
