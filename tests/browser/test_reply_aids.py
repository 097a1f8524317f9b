"""A counsellor answering a resident who reads English: a canned reply goes into the reply box
in English (never sent by itself), and Japanese typed for them gets やさしい日本語 advice as it
is typed, the same advice handoff/easy_japanese.py gives, without blocking the send."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from bot.db.models import Conversation, OutboxMessage
from handoff.easy_japanese import check
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case, texts, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
HARD = "至急、本日中に世帯全員の収入を確認できる書類を窓口に提出していただけますでしょうか。"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_a_canned_reply_in_english_and_advice_on_easy_japanese(live: LiveApp,
                                                               browser: Browser) -> None:
    r, case_id = resident_with_case(live)
    with live.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.line_user_id == r.user_id)
                  .values(language="en"))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    desk = context.new_page()
    sign_in(desk, live.url, "sato")
    desk.goto(f"{live.url}/console/cases/{case_id}")
    desk.click("#claim")
    wait_for(lambda: "佐藤" in texts(r.bot_messages()) and r.all_sent())
    sent = len(r.bot_messages())
    queued = live.count(OutboxMessage, OutboxMessage.line_user_id == r.user_id)

    words = desk.locator("#words")
    expect(desk.get_by_label("定型文")).to_be_visible()
    desk.select_option("#canned", "hello")
    desk.click("#canned-insert")
    expect(words).to_have_value(re.compile(r"^Hello, I'm 佐藤, a counsellor here\."))
    expect(words).to_be_focused()  # the counsellor goes on writing where the reply ends
    advice = desk.locator("#easy-advice")
    expect(advice).to_contain_text("日本語の文はありません")  # English is not judged

    # The keyboard alone: the menu, a choice, Enter; it goes on its own line after the first.
    desk.focus("#canned")
    desk.select_option("#canned", "good_time")
    desk.keyboard.press("Enter")
    expect(words).to_have_value(re.compile(r"your own pace\.\nWhen is a good day or time"))

    words.press("Control+End")
    words.press_sequentially("\n" + HARD)
    expected = check(HARD)
    assert [a.kind for a in expected][:2] == ["long", "kanji"]
    assert any(a.problem == "「〜いただく」はむずかしいことばです。" for a in expected)
    for one in expected:
        expect(advice).to_contain_text(one.problem + one.suggestion)
    expect(advice.locator("li li")).to_have_count(len(expected))  # under the one sentence
    expect(advice.locator("q")).to_have_count(1)
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(SCREENSHOTS / "console-reply-aids.png"), full_page=True)

    # Nothing of this reached the resident: inserting and typing send nothing.
    desk.wait_for_timeout(1000)
    assert len(r.bot_messages()) == sent
    assert live.count(OutboxMessage, OutboxMessage.line_user_id == r.user_id) == queued

    # Advice never blocks the send.
    desk.click("#send")
    wait_for(lambda: len(r.bot_messages()) > sent)
    delivered = texts(r.bot_messages()[sent:])
    assert delivered.startswith("Hello, I'm 佐藤") and HARD in delivered
    context.close()
