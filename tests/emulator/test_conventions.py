"""LINE's own conventions in the stand-in, as messaging-api.yml defines them and driven by the
real SDK: mark as read by token, rich menus (the data API's image included), the routes a
fault may name, and what the phone page is told of them."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from line_emulator import EmulatorState, events
from line_emulator.validation import image_size, validate_rich_menu
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    BotInfoResponse,
    Configuration,
    ErrorResponse,
    MarkMessagesAsReadByTokenRequest,
    PushMessageRequest,
    RichMenuIdResponse,
    RichMenuListResponse,
    RichMenuRequest,
    RichMenuResponse,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from PIL import Image

from .conftest import TOKEN, Server

LOADING = "/v2/bot/chat/loading/start"
PNG = {"Content-Type": "image/png"}  # the SDK's blob upload ignores its `_content_type`


@pytest.fixture
async def blob_api(server: Server) -> AsyncIterator[AsyncMessagingApiBlob]:
    """The data API's client (api-data.line.me), served by the emulator at the same address."""
    client = AsyncApiClient(Configuration(host=server.api_host, access_token=TOKEN))
    try:
        yield AsyncMessagingApiBlob(client)
    finally:
        await client.close()


def error_of(e: ApiException) -> ErrorResponse:
    return ErrorResponse.from_json(e.body)


async def send(server: Server, user: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.url}/emulator/api/users/{user}/events", json=payload)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


# ---------------------------------------------------------------------- mark as read


async def test_message_events_carry_a_read_token_the_emulator_knows(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    first = (await send(server, user, {"type": "text", "text": "はじめまして"}))["event"]
    await send(server, user, {"type": "sticker"})
    third = (await send(server, user, {"type": "text", "text": "家賃のことです"}))["event"]
    parsed = [e.message for e in server.webhook.events]  # the SDK reads the field
    assert all(m.mark_as_read_token for m in parsed)
    assert len({m.mark_as_read_token for m in parsed}) == 3

    # The middle token marks the first two; the newest, everything. Once more changes nothing.
    seqs = [e.seq for e in emulator.chat_log(user) if e.sender == "resident"]
    await line_api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(
        markAsReadToken=parsed[1].mark_as_read_token))
    assert emulator.read_up_to(user) == seqs[1]
    await line_api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(
        markAsReadToken=third["message"]["markAsReadToken"]))
    assert emulator.read_up_to(user) == seqs[2]
    await line_api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(
        markAsReadToken=first["message"]["markAsReadToken"]))
    assert emulator.read_up_to(user) == seqs[2]
    calls = emulator.calls_to("/v2/bot/chat/markAsRead")
    assert [c.status for c in calls] == [200, 200, 200] and all(c.auth_ok for c in calls)


async def test_mark_as_read_refuses_what_line_refuses(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    unknown = events.text_event(user, "この Bot が受け取っていない")["message"]["markAsReadToken"]
    with pytest.raises(ApiException) as e:
        await line_api.mark_messages_as_read_by_token(
            MarkMessagesAsReadByTokenRequest(markAsReadToken=unknown))
    assert e.value.status == 400
    assert "markAsReadToken" in error_of(e.value).message
    async with httpx.AsyncClient() as client:
        url = f"{server.api_host}/v2/bot/chat/markAsRead"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for body, prop in (({}, "markAsReadToken"), ({"markAsReadToken": 7}, "markAsReadToken"),
                           ({"markAsReadToken": ""}, "markAsReadToken")):
            r = await client.post(url, json=body, headers=auth)
            assert r.status_code == 400
            assert [d["property"] for d in r.json()["details"]] == [prop]
        assert (await client.post(url, json={"markAsReadToken": unknown})).status_code == 401
    assert emulator.read_up_to(user) == 0


async def test_the_page_is_told_what_was_read(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    sent = (await send(server, user, {"type": "text", "text": "聞いてほしいことがあります"}))
    seen: list[tuple[str, Any]] = []
    async with httpx.AsyncClient(timeout=10) as client, client.stream(
        "GET", f"{server.url}/emulator/api/users/{user}/stream"
    ) as stream:
        kind = ""
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                seen.append((kind, json.loads(line.split(":", 1)[1])))
                if kind == "entry":
                    await line_api.mark_messages_as_read_by_token(
                        MarkMessagesAsReadByTokenRequest(
                            markAsReadToken=sent["event"]["message"]["markAsReadToken"]))
                if kind == "read":
                    break
    entry = seen[1][1]
    assert seen[0] == ("hello", {"epoch": emulator.epoch, "markAsReadMode": "auto",
                                 "readUpTo": 0})
    assert seen[2] == ("read", {"upTo": entry["seq"]})
    async with httpx.AsyncClient() as client:
        state = (await client.get(f"{server.url}/emulator/api/users/{user}/messages")).json()
    assert state["readUpTo"] == entry["seq"]


async def test_bot_info_says_the_chat_mode(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    emulator.chat_mode = "chat"  # the account's chat on: messages wait to be marked read
    try:
        info = await line_api.get_bot_info()
    finally:
        emulator.chat_mode = "bot"
    assert isinstance(info, BotInfoResponse)
    assert (info.chat_mode, info.mark_as_read_mode) == ("chat", "manual")


# ---------------------------------------------------------------------- faults name a route


async def test_faults_for_the_answers_leave_the_signals_alone(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    emulator.register_user(user)
    emulator.inject_faults([503])
    emulator.inject_faults([500], path=LOADING)
    with pytest.raises(ApiException) as loading:
        await line_api.show_loading_animation(ShowLoadingAnimationRequest(chatId=user))
    assert loading.value.status == 500  # only the fault that names its route
    assert [c.status for c in emulator.calls] == [500]
    with pytest.raises(ApiException) as e:
        await line_api.push_message(PushMessageRequest(to=user, messages=[TextMessage(
            text="こんにちは")]))
    assert e.value.status == 503
    await line_api.show_loading_animation(ShowLoadingAnimationRequest(chatId=user))
    assert [c.status for c in emulator.calls] == [500, 503, 202]
    assert emulator.pending_faults() == []


# ---------------------------------------------------------------------- rich menus


def menu(**changes: Any) -> dict[str, Any]:
    """A valid compact menu: two areas side by side."""
    body: dict[str, Any] = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "tsunagu",
        "chatBarText": "メニュー",
        "areas": [
            {"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
             "action": {"type": "postback", "label": "人と話す", "data": "g=person",
                        "displayText": "人と話したい"}},
            {"bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
             "action": {"type": "message", "label": "ことば", "text": "ことば・Language"}},
        ],
    }
    body.update(changes)
    return body


def picture(width: int = 2500, height: int = 843, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (240, 240, 240)).save(out, format=kind)
    return out.getvalue()


async def test_a_rich_menu_is_created_given_its_image_and_made_the_default(
    server: Server, line_api: AsyncMessagingApi, blob_api: AsyncMessagingApiBlob,
    emulator: EmulatorState
) -> None:
    await line_api.validate_rich_menu_object(RichMenuRequest.from_dict(menu()))
    created = await line_api.create_rich_menu(RichMenuRequest.from_dict(menu()))
    assert isinstance(created, RichMenuIdResponse)
    menu_id = created.rich_menu_id
    assert menu_id.startswith("richmenu-") and len(menu_id) == len("richmenu-") + 32

    # No default without an image: LINE says so.
    with pytest.raises(ApiException) as no_image:
        await line_api.set_default_rich_menu(menu_id)
    assert no_image.value.status == 400 and "image" in error_of(no_image.value).message

    image = picture()
    await blob_api.set_rich_menu_image(menu_id, image, _headers=PNG)
    with pytest.raises(ApiException) as again:  # never replaced
        await blob_api.set_rich_menu_image(menu_id, image, _headers=PNG)
    assert again.value.status == 400
    await line_api.set_default_rich_menu(menu_id)
    assert (await line_api.get_default_rich_menu_id()).rich_menu_id == menu_id
    got = await line_api.get_rich_menu(menu_id)
    assert isinstance(got, RichMenuResponse)
    assert got.chat_bar_text == "メニュー" and len(got.areas) == 2
    assert got.areas[0].action.data == "g=person"
    listed = await line_api.get_rich_menu_list()
    assert isinstance(listed, RichMenuListResponse)
    assert [m.rich_menu_id for m in listed.richmenus] == [menu_id]
    assert bytes(await blob_api.get_rich_menu_image(menu_id)) == image
    upload = emulator.calls_to(f"/v2/bot/richmenu/{menu_id}/content")[0]
    assert upload.body == {"contentType": "image/png", "bytes": len(image)}

    # The phone shows it: the menu with its image, each area where LINE put it.
    async with httpx.AsyncClient() as client:
        shown = (await client.get(f"{server.url}/emulator/api/richmenu")).json()["richMenu"]
        assert shown["richMenuId"] == menu_id and shown["areas"] == menu()["areas"]
        served = await client.get(f"{server.url}/emulator/{shown['image']}")
        assert served.content == image and served.headers["content-type"] == "image/png"

    await line_api.delete_rich_menu(menu_id)
    with pytest.raises(ApiException) as gone:
        await line_api.get_default_rich_menu_id()
    assert gone.value.status == 404
    async with httpx.AsyncClient() as client:
        shown = (await client.get(f"{server.url}/emulator/api/richmenu")).json()
    assert shown == {"richMenu": None}


@pytest.mark.parametrize(("changes", "prop"), [
    ({"size": {"width": 2600, "height": 843}}, "size.width"),
    ({"size": {"width": 2500, "height": 200}}, "size.height"),
    ({"size": {"width": 1000, "height": 800}}, "size"),  # narrower than 1.45 : 1
    ({"chatBarText": "メニューを開いてください！！！"}, "chatBarText"),  # 15 > 14
    ({"name": ""}, "name"),
    ({"selected": "yes"}, "selected"),
    ({"areas": [{"bounds": {"x": 2000, "y": 0, "width": 600, "height": 843},
                 "action": {"type": "message", "text": "はみ出す"}}]}, "areas[0].bounds"),
    ({"areas": [{"bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
                 "action": {"type": "camera", "label": "カメラ"}}]}, "areas[0].action.type"),
    ({"areas": [{"bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
                 "action": {"type": "postback", "data": "x" * 301}}]}, "areas[0].action.data"),
    ({"areas": [{"bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
                 "action": {"type": "message", "label": "あ" * 21, "text": "あ"}}]},
     "areas[0].action.label"),
    ({"areas": [{"bounds": {"x": 0, "y": 0, "width": 10, "height": 10},
                 "action": {"type": "message", "text": "あ"}}] * 21}, "areas"),
])
async def test_rich_menus_are_checked_as_line_checks_them(
    server: Server, emulator: EmulatorState, changes: dict[str, Any], prop: str
) -> None:
    body = menu(**changes)
    assert prop in [p for p, _ in validate_rich_menu(body)]
    async with httpx.AsyncClient() as client:
        for path in ("/v2/bot/richmenu/validate", "/v2/bot/richmenu"):
            r = await client.post(f"{server.api_host}{path}", json=body,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 400, path
            assert prop in [d["property"] for d in r.json()["details"]]
    assert emulator.menus() == []


@pytest.mark.parametrize(("image", "content_type", "why"), [
    (picture(), "text/plain", "image/jpeg or image/png"),
    (picture(kind="JPEG"), "image/jpeg", None),
    (picture(1200, 405), "image/png", "1200x405"),  # not the menu's size
    (b"not an image at all", "image/png", "not a valid PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "image/png", "1 MB"),
    (b"", "image/png", "no image"),
])
async def test_rich_menu_images_are_checked_as_line_checks_them(
    line_api: AsyncMessagingApi, server: Server, emulator: EmulatorState, image: bytes,
    content_type: str, why: str | None
) -> None:
    menu_id = (await line_api.create_rich_menu(RichMenuRequest.from_dict(menu()))).rich_menu_id
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.api_host}/v2/bot/richmenu/{menu_id}/content",
                              content=image, headers={"Content-Type": content_type,
                                                      "Authorization": f"Bearer {TOKEN}"})
    if why is None:
        assert r.status_code == 200
        assert emulator.menu(menu_id).image == image  # type: ignore[union-attr]
    else:
        assert r.status_code == 400 and why in r.json()["message"]
        assert emulator.menu(menu_id).image is None  # type: ignore[union-attr]


def test_image_sizes_are_read_from_png_and_jpeg() -> None:
    assert image_size(picture(2500, 843), "image/png") == (2500, 843)
    assert image_size(picture(1200, 405, "JPEG"), "image/jpeg") == (1200, 405)
    assert image_size(picture(1200, 405, "JPEG")[:20], "image/jpeg") is None  # cut short
    assert image_size(b"GIF89a", "image/png") is None


async def test_unknown_rich_menus_are_404(
    line_api: AsyncMessagingApi, blob_api: AsyncMessagingApiBlob
) -> None:
    missing = events.new_rich_menu_id()
    for call in (line_api.get_rich_menu(missing), line_api.delete_rich_menu(missing),
                 line_api.set_default_rich_menu(missing),
                 blob_api.set_rich_menu_image(missing, picture(), _headers=PNG)):
        with pytest.raises(ApiException) as e:
            await call
        assert e.value.status == 404
