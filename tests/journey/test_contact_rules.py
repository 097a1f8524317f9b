"""The resident's contact rules through the webhook, the console and the LINE emulator: set by
the resident, enforced by the outbox on every push (held, never dropped, and the counsellor is
told why), silent pushes with notificationDisabled, the neutral notice, and 「けす」 from any
state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db.models import Conversation, OutboxMessage, OutboxStatus, utcnow
from bot.edge import contact_rules as cr
from bot.edge.outbox import release_due
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)

PUSH = "/v2/bot/message/push"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def set_rules(r: Resident, *, silent: str, neutral: str, hours: str) -> list[dict[str, Any]]:
    r.say("連絡のしかた")
    r.tap(silent)
    r.tap(neutral)
    return r.tap(hours)


def away(live: LiveApp, r: Resident, minutes: int = 60) -> None:
    """The resident last wrote a while ago (they are not in the chat now)."""
    with live.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.line_user_id == r.user_id)
                  .values(last_event_at=utcnow() - timedelta(minutes=minutes)))


def claimed_case(live: LiveApp) -> tuple[Resident, int, Any]:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    page = f"/console/cases/{case_id}"
    sato.post(f"{page}/claim", data={"csrf": csrf_of(sato, page)})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    return r, case_id, sato


def reply(live: LiveApp, sato: Any, case_id: int, words: str) -> None:
    page = f"/console/cases/{case_id}"
    done = sato.post(f"{page}/reply", data={"csrf": csrf_of(sato, page), "words": words})
    assert done.status_code == 303


def rows_of(live: LiveApp, r: Resident) -> list[OutboxMessage]:
    with live.session() as s:
        return list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.line_user_id == r.user_id).order_by(OutboxMessage.id)))


def pushes_to(live: LiveApp, r: Resident) -> list[dict[str, Any]]:
    return [c.body for c in live.emulator.calls_to(PUSH)
            if isinstance(c.body, dict) and c.body.get("to") == r.user_id and c.status == 200]


def closed_window_now() -> str:
    """A window that is closed at this moment (day and evening never overlap)."""
    now = utcnow()
    return "day" if not cr.allowed_at(cr.ContactRules(hours="day"), now) else "evening"


WINDOW_LABEL = {"day": "毎日 9時〜17時", "evening": "毎日 18時〜22時"}


def test_a_silent_resident_gets_pushes_with_notification_disabled(live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    saved = set_rules(r, silent="音を鳴らさない", neutral="中身が出てもよい", hours="いつでもよい")
    assert "この決まりでお届けします" in texts(saved)
    away(live, r)
    reply(live, sato, case_id, "佐藤です。その後いかがですか。")
    body = wait_for(lambda: [b for b in pushes_to(live, r)
                             if "その後いかがですか" in texts(b["messages"])])[-1]
    assert body["notificationDisabled"] is True
    page = sato.get(f"/console/cases/{case_id}").text
    assert "通知の音なし" in page


def test_a_push_outside_the_residents_hours_is_held_then_sent_when_allowed(
        live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    window = closed_window_now()
    set_rules(r, silent="音が鳴ってもよい", neutral="中身が出てもよい", hours=WINDOW_LABEL[window])
    away(live, r)
    reply(live, sato, case_id, "明日のお約束の確認です。")
    held = wait_for(lambda: [row for row in rows_of(live, r)
                             if row.status == OutboxStatus.HELD])
    assert [row.held for row in held] == [cr.HOURS]
    opens: datetime = held[0].next_attempt_at
    assert cr.allowed_at(cr.ContactRules(hours=window), opens)
    assert "明日のお約束" not in texts(r.bot_messages())
    page = sato.get(f"/console/cases/{case_id}").text
    assert "保留中：本人が選んだ時間の外です" in page

    # The clock at the window's opening: the row is released and delivered.
    with live.session() as s, s.begin():
        assert release_due(s, opens - timedelta(seconds=1)) == 0
    with live.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.line_user_id == r.user_id)
                  .values(last_event_at=opens - timedelta(hours=2)))
        assert release_due(s, opens) == 1
    [row] = [row for row in rows_of(live, r) if row.id == held[0].id]
    assert row.status == OutboxStatus.PENDING and row.held is None
    with live.session() as s, s.begin():  # the real clock catches up with the simulated one
        s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                  .values(next_attempt_at=utcnow()))
    live.runtime.wake_outbox()
    wait_for(lambda: "明日のお約束の確認です。" in texts(r.bot_messages()))


def test_neutral_shows_only_a_notice_until_the_resident_opens_it(live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    set_rules(r, silent="音が鳴ってもよい", neutral="中身を出さない", hours="いつでもよい")
    away(live, r)
    reply(live, sato, case_id, "書類の件でご連絡です。")
    reply(live, sato, case_id, "ゆっくりで大丈夫です。")
    notice = wait_for(lambda: [b for b in pushes_to(live, r)
                               if "お知らせが1件あります。" in texts(b["messages"])])
    assert len(notice) == 1  # one notice, however many messages wait
    assert "書類の件" not in texts(r.bot_messages())
    opened = r.tap("見る")
    assert "書類の件でご連絡です。" in texts(opened) or wait_for(
        lambda: "書類の件でご連絡です。" in texts(r.bot_messages()))
    wait_for(lambda: "ゆっくりで大丈夫です。" in texts(r.bot_messages()))


@pytest.mark.parametrize("where", ["welcome", "areas", "handoff"])
def test_kesu_answers_harmlessly_and_holds_everything_until_the_resident_writes(
        live: LiveApp, where: str) -> None:
    if where == "handoff":
        r, case_id, sato = claimed_case(live)
    else:
        r = Resident(live)
        r.send(r.follow())
        r.wait_messages(4)
        if where == "areas":
            r.tap("はじめる")
            r.say("家賃が払えなくて")
            r.tap("自分のこと")
    answer = r.say("けす")
    assert texts(answer) == "ご利用ありがとうございました。またのご利用をお待ちしております。"
    assert all("quickReply" not in m for m in answer)  # nothing anyone should not see
    with live.session() as s:
        conversation = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        assert conversation.state == "quick_exit"
        assert cr.ContactRules.of(conversation.contact_rules).hold
    if where == "handoff":
        reply(live, sato, case_id, "佐藤です。お返事をお待ちしています。")
        wait_for(lambda: [row for row in rows_of(live, r) if row.held == cr.EXIT])
        assert "お返事をお待ちしています" not in texts(r.bot_messages())
        page = sato.get(f"/console/cases/{case_id}").text
        assert "保留中：本人が「けす」を使いました" in page
    back = r.say("もどりました")
    wait_for(r.all_sent)
    if where == "handoff":
        wait_for(lambda: "お返事をお待ちしています" in texts(r.bot_messages()))
    else:
        assert back  # back where they were: the question again
    with live.session() as s:
        conversation = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        assert not cr.ContactRules.of(conversation.contact_rules).hold
        assert conversation.state == where  # back where they were
