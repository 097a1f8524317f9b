"""LINE's own conventions through the running product and the emulator: the loading animation
while the bot works and while a counsellor writes, and 既読 when the counsellor holding the
case opens the chat (markAsRead with the newest message's token, only after consent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from line_emulator import events as line_events
from line_emulator.state import RecordedCall
from sqlalchemy import select

from bot.db.models import Conversation, InboxEvent, OutboxMessage
from bot.journey.worker import LOADING_SECONDS
from handoff.console.line_signals import AFTER_REPLY_SECONDS, TYPING_SECONDS
from handoff.models import Case, Role
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)

LOADING = "/v2/bot/chat/loading/start"
MARK_READ = "/v2/bot/chat/markAsRead"
SENDING = ("/v2/bot/message/reply", "/v2/bot/message/push")


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref"),
            Staff("boss", "主任", Role.SUPERVISOR, "pref")]


def loading_for(live: LiveApp, user_id: str) -> list[RecordedCall]:
    return [c for c in live.emulator.calls_to(LOADING) if c.body.get("chatId") == user_id]



# ---------------------------------------------------------------------- while the bot works


def test_a_residents_message_shows_the_animation_before_its_answer(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(1)
    assert loading_for(live, r.user_id) == []  # the greeting needs no waiting sign

    event = r.text("お金のことで相談したいです")
    answer = r.say_event(event)
    assert answer
    [call] = wait_for(lambda: loading_for(live, r.user_id))
    assert call.status == 202 and call.auth_ok
    assert call.body == {"chatId": r.user_id, "loadingSeconds": LOADING_SECONDS}
    # The answer went out only once LINE had taken the animation: it never shows after it.
    calls = live.emulator.calls
    first_answer = next(i for i, c in enumerate(calls) if c.path in SENDING and
                        c.body.get("replyToken") == event["replyToken"])
    assert calls.index(call) < first_answer

    before = len(loading_for(live, r.user_id))
    r.tap(r.bot_messages()[-1]["quickReply"]["items"][0]["action"]["label"])
    wait_for(lambda: len(loading_for(live, r.user_id)) == before + 1)  # a tap too


def test_a_failing_animation_never_holds_the_answer_back(live: LiveApp) -> None:
    live.emulator.inject_faults([500, 500], path=LOADING)
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(1)
    assert r.say("家賃が払えません")  # answered all the same
    assert [c.status for c in loading_for(live, r.user_id)] == [500]  # and not retried
    assert live.emulator.pending_faults() == [500]  # the answers took none of them


def inbox_status(live: LiveApp, webhook_event_id: str) -> str | None:
    with live.session() as s:
        return s.scalar(select(InboxEvent.status).where(
            InboxEvent.webhook_event_id == webhook_event_id))


def test_groups_get_no_animation(live: LiveApp) -> None:
    member = line_events.new_user_id()
    event = line_events.text_event(member, "こんにちは")
    event["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": member}
    assert live.post([event]).status_code == 200
    wait_for(lambda: inbox_status(live, event["webhookEventId"]) not in (None, "pending"))
    assert live.emulator.calls_to(LOADING) == []


# ---------------------------------------------------------------------- 既読


def page_text(live: LiveApp, user_id: str, words: str) -> dict[str, Any]:
    """The resident types on the emulator's page: LINE's event with a read token LINE knows."""
    answer = live.http.post(f"/emulator/api/users/{user_id}/events",
                            json={"type": "text", "text": words})
    assert answer.status_code == 200 and answer.json()["status"] == 200
    event: dict[str, Any] = answer.json()["event"]
    return event


def read_token(live: LiveApp, r: Resident) -> str | None:
    return conversation_of(live, r).read_token


def case_of(live: LiveApp, r: Resident) -> int | None:
    with live.session() as s:
        return s.scalar(select(Case.id).join(
            Conversation, Conversation.id == Case.conversation_id).where(
            Conversation.line_user_id == r.user_id))


def test_the_claiming_counsellor_opening_the_chat_marks_it_read_once(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    first = page_text(live, r.user_id, "家賃を3か月ためています")
    newest = page_text(live, r.user_id, "電気も止まりそうです")
    token = newest["message"]["markAsReadToken"]
    assert first["message"]["markAsReadToken"] != token
    wait_for(lambda: read_token(live, r) == token)  # the newest message's, after consent

    sato, boss = logged_in(live, "sato"), logged_in(live, "boss")
    case_page = f"/console/cases/{case_id}"
    assert sato.get(case_page).status_code == 200  # not claimed yet: nobody has it open
    assert boss.get(case_page).status_code == 200
    claim = sato.post(f"{case_page}/claim", data={"csrf": csrf_of(sato, case_page)})
    assert claim.status_code == 303
    assert boss.get(case_page).status_code == 200  # a colleague looking is not the chat
    assert live.emulator.calls_to(MARK_READ) == []

    assert sato.get(case_page).status_code == 200
    [call] = wait_for(lambda: live.emulator.calls_to(MARK_READ))
    assert call.body == {"markAsReadToken": token} and call.status == 200
    # Everything up to the newest message shows 既読 on the resident's phone.
    log = live.emulator.chat_log(r.user_id)
    mine = [e.seq for e in log if e.sender == "resident"]
    assert live.emulator.read_up_to(r.user_id) == max(mine)
    assert read_token(live, r) is None  # used once

    sato.get(case_page)
    sato.get(f"{case_page}/fragments/transcript")
    later = page_text(live, r.user_id, "よろしくお願いします")
    wait_for(lambda: read_token(live, r) == later["message"]["markAsReadToken"])
    # The live transcript the counsellor watches shows it: that marks it read too.
    assert sato.get(f"{case_page}/fragments/transcript").status_code == 200
    calls = wait_for(lambda: len(live.emulator.calls_to(MARK_READ)) == 2
                     and live.emulator.calls_to(MARK_READ))
    assert calls[1].body == {"markAsReadToken": later["message"]["markAsReadToken"]}


def test_nothing_is_marked_read_without_consent(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(1)
    page_text(live, r.user_id, "今夜死のうと思う")  # a case for life safety, no consent
    case_id = wait_for(lambda: case_of(live, r))
    assert read_token(live, r) is None

    sato = logged_in(live, "sato")
    case_page = f"/console/cases/{case_id}"
    assert sato.post(f"{case_page}/claim",
                     data={"csrf": csrf_of(sato, case_page)}).status_code == 303
    assert sato.get(case_page).status_code == 200
    answered = len(r.bot_messages())
    page_text(live, r.user_id, "誰かいますか")
    wait_for(lambda: len(r.bot_messages()) > answered and r.all_sent())
    assert sato.get(case_page).status_code == 200
    assert sato.get(f"{case_page}/fragments/transcript").status_code == 200
    assert read_token(live, r) is None
    assert live.emulator.calls_to(MARK_READ) == []


# ---------------------------------------------------------------------- while a counsellor writes


def typing(client: httpx.Client, case_id: int) -> httpx.Response:
    page = f"/console/cases/{case_id}"
    return client.post(f"{page}/typing", data={"csrf": csrf_of(client, page)})


def test_a_counsellor_writing_shows_the_animation(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    shown_before = len(loading_for(live, r.user_id))  # the bot's, at the resident's messages
    sato, suzuki = logged_in(live, "sato"), logged_in(live, "suzuki")
    assert typing(sato, case_id).status_code == 204  # not claimed: nothing
    case_page = f"/console/cases/{case_id}"
    sato.post(f"{case_page}/claim", data={"csrf": csrf_of(sato, case_page)})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    assert len(loading_for(live, r.user_id)) == shown_before

    assert "data-typing=" in sato.get(case_page).text  # the reply box sends it
    assert typing(suzuki, case_id).status_code == 204  # not hers: nothing
    assert typing(sato, case_id).status_code == 204
    calls = loading_for(live, r.user_id)
    assert len(calls) == shown_before + 1
    assert calls[-1].body == {"chatId": r.user_id, "loadingSeconds": TYPING_SECONDS}
    assert calls[-1].status == 202
    assert typing(sato, case_id).status_code == 204  # a second at once: not again
    assert len(loading_for(live, r.user_id)) == shown_before + 1


def test_a_signal_that_arrives_after_the_reply_shows_no_animation(live: LiveApp) -> None:
    """Sent as the counsellor presses 送信, the browser's signal may reach the server after the
    reply; LINE would then show the animation under the words the resident is reading."""
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    case_page = f"/console/cases/{case_id}"
    sato.post(f"{case_page}/claim", data={"csrf": csrf_of(sato, case_page)})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    assert sato.post(f"{case_page}/reply", data={"csrf": csrf_of(sato, case_page),
                                                 "words": "お返事ありがとうございます"}
                     ).status_code == 303
    wait_for(lambda: "お返事ありがとうございます" in texts(r.bot_messages()))
    shown_before = len(loading_for(live, r.user_id))
    assert typing(sato, case_id).status_code == 204
    assert len(loading_for(live, r.user_id)) == shown_before

    # Moments later the counsellor writes again: the resident sees it again.
    with live.session() as s, s.begin():
        for row in s.scalars(select(OutboxMessage).where(
                OutboxMessage.conversation_id == conversation_of(live, r).id)):
            row.created_at -= timedelta(seconds=AFTER_REPLY_SECONDS + 1)
    assert typing(sato, case_id).status_code == 204
    assert len(loading_for(live, r.user_id)) == shown_before + 1


def test_no_animation_once_consent_is_withdrawn(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    case_page = f"/console/cases/{case_id}"
    sato.post(f"{case_page}/claim", data={"csrf": csrf_of(sato, case_page)})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    with live.session() as s, s.begin():
        conversation = s.get(Conversation, conversation_of(live, r).id)
        assert conversation is not None
        conversation.consent = {**conversation.consent,
                                "counsellor": {**conversation.consent["counsellor"],
                                               "granted": False}}
    shown_before = len(loading_for(live, r.user_id))
    assert typing(sato, case_id).status_code == 204
    assert len(loading_for(live, r.user_id)) == shown_before
