"""The Messaging API stand-in, driven by the real line-bot-sdk over HTTP.

Every success is deserialized into the SDK's response model and every error into its
`ErrorResponse`: the SDK is generated from LINE's OpenAPI files, so that is the conformance check.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from line_emulator import EmulatorState, events
from linebot.v3.messaging import (
    ApiException,
    AsyncMessagingApi,
    BotInfoResponse,
    ErrorResponse,
    MessageAction,
    PostbackAction,
    PushMessageRequest,
    PushMessageResponse,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ReplyMessageResponse,
    RichMenuIdResponse,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
    UserProfileResponse,
)

from .conftest import TOKEN, Server
from .test_conventions import menu, picture


def hello(text: str = "こんにちは") -> TextMessage:
    return TextMessage(text=text)


def error_of(e: ApiException) -> ErrorResponse:
    return ErrorResponse.from_json(e.body)


async def ready_menu(line_api: AsyncMessagingApi, emulator: EmulatorState, name: str) -> str:
    """A menu LINE would link: created through the SDK, its image in place (the upload route
    has its own tests)."""
    request = RichMenuRequest.from_dict(menu(name=name))
    menu_id = (await line_api.create_rich_menu(request)).rich_menu_id
    assert emulator.set_menu_image(menu_id, picture(), "image/png")
    return menu_id


async def test_reply_delivers_once_then_the_token_is_invalid(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    token = emulator.issue_reply_token(user)
    choices = QuickReply(
        items=[
            QuickReplyItem(action=PostbackAction(label="お金のこと", data="cat=money")),
            QuickReplyItem(action=MessageAction(label="その他", text="その他")),
        ]
    )
    request = ReplyMessageRequest(
        replyToken=token,
        messages=[hello(), TextMessage(text="どうしましたか？", quickReply=choices)],
    )
    response = await line_api.reply_message(request)
    assert isinstance(response, ReplyMessageResponse)
    assert len(response.sent_messages) == 2
    assert all(m.id and m.quote_token for m in response.sent_messages)
    assert [m["text"] for m in emulator.bot_messages(user)] == ["こんにちは", "どうしましたか？"]
    assert emulator.bot_messages(user)[1]["quickReply"]["items"][0]["action"]["data"] == "cat=money"

    with pytest.raises(ApiException) as again:
        await line_api.reply_message(request)
    assert again.value.status == 400
    assert json.loads(again.value.body) == {"message": "Invalid reply token"}
    assert len(emulator.bot_messages(user)) == 2


async def test_unknown_and_expired_tokens_are_refused(
    line_api: AsyncMessagingApi, emulator: EmulatorState, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = events.new_user_id()
    expired = emulator.issue_reply_token(user)
    emulator.expire_reply_token(expired)
    monkeypatch.setattr(emulator, "reply_token_ttl", 0.0)
    too_old = emulator.issue_reply_token(user)  # older than a zero-second lifetime at once
    for token in ("never-issued", expired, too_old):
        with pytest.raises(ApiException) as refused:
            await line_api.reply_message(ReplyMessageRequest(replyToken=token, messages=[hello()]))
        assert refused.value.status == 400
        assert error_of(refused.value).message == "Invalid reply token"
    assert emulator.bot_messages(user) == []


async def test_a_refused_body_does_not_spend_the_token(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    token = emulator.issue_reply_token(user)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        bad = {"replyToken": token, "messages": [{"type": "text", "text": "x" * 5001}]}
        r = await client.post(f"{server.api_host}/v2/bot/message/reply", json=bad)
    assert r.status_code == 400
    await line_api.reply_message(ReplyMessageRequest(replyToken=token, messages=[hello()]))
    assert len(emulator.bot_messages(user)) == 1


async def test_push_with_a_retry_key_is_delivered_once(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=user, messages=[hello("その後いかがですか？")])
    first = await line_api.push_message_with_http_info(request, x_line_retry_key=key)
    assert first.status_code == 200
    assert isinstance(first.data, PushMessageResponse)
    request_id = first.headers["x-line-request-id"]
    assert request_id

    with pytest.raises(ApiException) as again:
        await line_api.push_message(request, x_line_retry_key=key)
    assert again.value.status == 409
    assert again.value.headers["x-line-accepted-request-id"] == request_id
    body = error_of(again.value)
    assert body.message == "The retry key is already accepted"
    assert [m.id for m in body.sent_messages or []] == [m.id for m in first.data.sent_messages]
    assert emulator.bot_messages(user) == [{"type": "text", "text": "その後いかがですか？"}]
    assert [c.status for c in emulator.calls] == [200, 409]
    assert {c.retry_key for c in emulator.calls} == {key}


async def test_a_failed_push_leaves_its_retry_key_free(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    key = str(uuid.uuid4())
    emulator.inject_faults([500])
    request = PushMessageRequest(to=user, messages=[hello()])
    with pytest.raises(ApiException):
        await line_api.push_message(request, x_line_retry_key=key)
    await line_api.push_message(request, x_line_retry_key=key)
    assert len(emulator.bot_messages(user)) == 1


# A uuid without its hyphens is not the form LINE asks for. Fixed, so every worker collects it.
@pytest.mark.parametrize("key", ["not-a-uuid", "9696d68af1ce4f3f925e2b0e3390c563"])
async def test_push_refuses_a_retry_key_that_is_not_a_uuid(
    line_api: AsyncMessagingApi, emulator: EmulatorState, key: str
) -> None:
    request = PushMessageRequest(to=events.new_user_id(), messages=[hello()])
    with pytest.raises(ApiException) as refused:
        await line_api.push_message(request, x_line_retry_key=key)
    assert refused.value.status == 400
    assert "X-Line-Retry-Key" in error_of(refused.value).message


async def test_push_needs_a_valid_recipient(line_api: AsyncMessagingApi) -> None:
    with pytest.raises(ApiException) as refused:
        await line_api.push_message(PushMessageRequest(to="someone", messages=[hello()]))
    assert refused.value.status == 400


async def test_invalid_messages_get_lines_400_body(server: Server, emulator: EmulatorState) -> None:
    token = emulator.issue_reply_token(events.new_user_id())
    too_long_label = {"type": "postback", "label": "あ" * 21, "data": "x"}
    body = {
        "replyToken": token,
        "messages": [
            {"type": "text", "text": ""},
            {
                "type": "text",
                "text": "選んでください",
                "quickReply": {"items": [{"type": "action", "action": too_long_label}]},
            },
        ],
    }
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        r = await client.post(f"{server.api_host}/v2/bot/message/reply", json=body)
    assert r.status_code == 400
    assert r.headers["x-line-request-id"]
    error = ErrorResponse.from_json(r.text)
    assert error.message == "The request body has 2 error(s)"
    assert [d.var_property for d in error.details or []] == [
        "messages[0].text",
        "messages[1].quickReply.items[0].action.label",
    ]
    assert emulator.calls[-1].status == 400


async def test_every_route_needs_the_access_token(server: Server, emulator: EmulatorState) -> None:
    expected = {
        "message": "Authentication failed. Confirm that the access token in the "
        "authorization header is valid."
    }
    user = events.new_user_id()
    emulator.register_user(user)
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/v2/bot/message/reply", {"replyToken": "x", "messages": []}),
        ("POST", "/v2/bot/message/push", {"to": user, "messages": []}),
        ("POST", "/v2/bot/chat/loading/start", {"chatId": user, "loadingSeconds": 5}),
        ("GET", f"/v2/bot/profile/{user}", None),
        ("GET", "/v2/bot/info", None),
        ("POST", f"/v2/bot/user/{user}/richmenu/{events.new_rich_menu_id()}", None),
        ("GET", f"/v2/bot/user/{user}/richmenu", None),
        ("DELETE", f"/v2/bot/user/{user}/richmenu", None),
    ]
    async with httpx.AsyncClient() as client:
        for method, path, body in routes:
            for headers in ({}, {"Authorization": "Bearer wrong-token"}):
                r = await client.request(method, server.api_host + path, json=body, headers=headers)
                assert (r.status_code, r.json()) == (401, expected), path
    assert all(not c.auth_ok for c in emulator.calls)
    assert emulator.profile_fetches == [user, user]


async def test_faults_are_answered_in_order_then_calls_succeed(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    emulator.inject_faults([500, 429])
    request = PushMessageRequest(to=user, messages=[hello()])
    with pytest.raises(ApiException) as first:
        await line_api.push_message(request)
    assert first.value.status == 500
    with pytest.raises(ApiException) as second:
        await line_api.push_message(request)
    assert second.value.status == 429
    assert error_of(second.value).message == (
        "The API rate limit has been exceeded. Try again later."
    )
    assert "retry-after" not in {k.lower() for k in second.value.headers}
    await line_api.push_message(request)
    assert [c.status for c in emulator.calls] == [500, 429, 200]
    assert len(emulator.bot_messages(user)) == 1


async def test_loading_animation_is_accepted(
    server: Server, line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    response = await line_api.show_loading_animation_with_http_info(
        ShowLoadingAnimationRequest(chatId=user, loadingSeconds=10)
    )
    assert response.status_code == 202
    assert emulator.calls[-1].body == {"chatId": user, "loadingSeconds": 10}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for seconds in (0, 7, 65, "5"):
            r = await client.post(
                f"{server.api_host}/v2/bot/chat/loading/start",
                json={"chatId": user, "loadingSeconds": seconds},
            )
            assert r.status_code == 400, seconds


async def test_profile_exists_only_for_residents_who_wrote(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    stranger = events.new_user_id()
    with pytest.raises(ApiException) as missing:
        await line_api.get_profile(stranger)
    assert missing.value.status == 404
    assert json.loads(missing.value.body) == {"message": "Not found"}

    resident = events.new_user_id()
    emulator.issue_reply_token(resident)  # as when they sent an event
    profile = await line_api.get_profile(resident)
    assert isinstance(profile, UserProfileResponse)
    assert profile.user_id == resident
    assert profile.display_name
    assert profile.language == "ja"
    assert emulator.profile_fetches == [stranger, resident]


async def test_bot_info_follows_the_spec(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    info = await line_api.get_bot_info()
    assert isinstance(info, BotInfoResponse)
    assert info.user_id == emulator.bot_user_id
    assert info.chat_mode == "bot"
    assert info.mark_as_read_mode == "auto"
    assert info.basic_id.startswith("@")


async def test_calls_are_recorded_with_lines_paths(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    await line_api.get_bot_info()
    (call,) = emulator.calls
    assert (call.method, call.path, call.status, call.auth_ok) == ("GET", "/v2/bot/info", 200, True)
    assert call.time > 0


# ---------------------------------------------------------------------- per-user rich menus


async def test_a_menu_linked_to_a_user_is_theirs_alone_until_unlinked(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    default = await ready_menu(line_api, emulator, "default")
    own = await ready_menu(line_api, emulator, "own")
    await line_api.set_default_rich_menu(default)
    user, other = events.new_user_id(), events.new_user_id()

    linked = await line_api.link_rich_menu_id_to_user_with_http_info(user, own)
    assert linked.status_code == 200
    got = await line_api.get_rich_menu_id_of_user(user)
    assert isinstance(got, RichMenuIdResponse) and got.rich_menu_id == own
    # LINE answers only for a linked menu: a user who sees the default has none of their own.
    with pytest.raises(ApiException) as none:
        await line_api.get_rich_menu_id_of_user(other)
    assert none.value.status == 404
    assert json.loads(none.value.body) == {"message": "the user has no richmenu"}
    assert emulator.menu_for(user).id == own  # type: ignore[union-attr]
    assert emulator.menu_for(other).id == default  # type: ignore[union-attr]
    assert emulator.linked_menu(other) is None

    await line_api.unlink_rich_menu_id_from_user(user)
    with pytest.raises(ApiException) as gone:
        await line_api.get_rich_menu_id_of_user(user)
    assert gone.value.status == 404
    assert emulator.menu_for(user).id == default  # type: ignore[union-attr]
    again = await line_api.unlink_rich_menu_id_from_user_with_http_info(user)  # nothing linked
    assert again.status_code == 200

    calls = [(c.method, c.path, c.status) for c in emulator.calls if "/user/" in c.path]
    assert calls == [
        ("POST", f"/v2/bot/user/all/richmenu/{default}", 200),
        ("POST", f"/v2/bot/user/{user}/richmenu/{own}", 200),
        ("GET", f"/v2/bot/user/{user}/richmenu", 200),
        ("GET", f"/v2/bot/user/{other}/richmenu", 404),
        ("DELETE", f"/v2/bot/user/{user}/richmenu", 200),
        ("GET", f"/v2/bot/user/{user}/richmenu", 404),
        ("DELETE", f"/v2/bot/user/{user}/richmenu", 200),
    ]


async def test_linking_refuses_unknown_menus_and_menus_without_an_image(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    user = events.new_user_id()
    bare = (await line_api.create_rich_menu(RichMenuRequest.from_dict(menu()))).rich_menu_id
    for menu_id, message in (
        (events.new_rich_menu_id(), "richmenu not found"),
        (bare, "must upload richmenu image before applying it to user"),
    ):
        with pytest.raises(ApiException) as refused:
            await line_api.link_rich_menu_id_to_user(user, menu_id)
        assert refused.value.status == 400
        assert json.loads(refused.value.body) == {"message": message}
    assert emulator.linked_menu(user) is None


async def test_deleting_a_linked_menu_unlinks_its_users(
    line_api: AsyncMessagingApi, emulator: EmulatorState
) -> None:
    doomed = await ready_menu(line_api, emulator, "doomed")
    kept = await ready_menu(line_api, emulator, "kept")
    first, second, third = (events.new_user_id() for _ in range(3))
    for user in (first, second):
        await line_api.link_rich_menu_id_to_user(user, doomed)
    await line_api.link_rich_menu_id_to_user(third, kept)

    await line_api.delete_rich_menu(doomed)
    for user in (first, second):
        with pytest.raises(ApiException) as unlinked:
            await line_api.get_rich_menu_id_of_user(user)
        assert unlinked.value.status == 404
        assert emulator.menu_for(user) is None  # no default either
    assert (await line_api.get_rich_menu_id_of_user(third)).rich_menu_id == kept
