"""The reply box of a busy shift: a draft survives a reload (in this browser only) and is gone
once sent; Ctrl+Enter sends, but not while the IME is still converting; logging out leaves no
draft behind on a shared computer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console import claimed_case
from tests.live import LiveApp, Staff, texts, wait_for

pytestmark = pytest.mark.sqlite_only

DRAFT = "家賃のこと、教えてくださってありがとうございます。"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def drafts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('tsunagu:draft:'))")


def test_a_draft_survives_a_reload_and_ctrl_enter_sends_it(live: LiveApp,
                                                          browser: Browser) -> None:
    held = claimed_case(browser, live, "sato", "佐藤")
    context, desk, r = held.context, held.page, held.resident
    sent = len(r.bot_messages())

    words = desk.locator("#words")
    words.press_sequentially(DRAFT)
    desk.reload()
    expect(words).to_have_value(DRAFT)
    expect(desk.locator("#draft-note")).to_be_visible()
    assert len(r.bot_messages()) == sent  # a draft is never sent by itself

    # Enter while the IME is converting only confirms the kanji: nothing is sent.
    words.evaluate("""el => el.dispatchEvent(new KeyboardEvent("keydown", {
        key: "Enter", ctrlKey: true, isComposing: true, bubbles: true, cancelable: true}))""")
    desk.wait_for_timeout(500)
    assert len(r.bot_messages()) == sent

    words.press("Control+Enter")
    wait_for(lambda: len(r.bot_messages()) > sent)
    assert DRAFT in texts(r.bot_messages()[sent:])
    expect(desk.locator(".transcript .line.counsellor").last).to_contain_text(DRAFT)
    expect(words).to_have_value("")
    # The page after sending forgets the draft once its script has run (deferred: the talk
    # may show the line a moment before).
    wait_for(lambda: drafts(desk) == [])
    desk.reload()
    expect(words).to_have_value("")  # sent: it does not come back

    # The same words once more (a second thank-you): a new draft, kept over a reload even
    # though the talk already shows them sent.
    words.press_sequentially(DRAFT)
    desk.reload()
    expect(words).to_have_value(DRAFT)
    words.fill("")
    assert drafts(desk) == []

    # A draft left at logout is gone with the session.
    words.press_sequentially("途中まで書いた返信")
    desk.reload()
    expect(words).to_have_value("途中まで書いた返信")
    assert len(drafts(desk)) == 1
    desk.click("form[action='/console/logout'] button")
    expect(desk.locator("input[name=username]")).to_be_visible()
    assert drafts(desk) == []
    context.close()


def test_a_canned_reply_chosen_with_a_slash_reaches_the_resident_filled_in(
        live: LiveApp, browser: Browser) -> None:
    held = claimed_case(browser, live, "sato", "佐藤")
    context, desk, r = held.context, held.page, held.resident
    sent = len(r.bot_messages())
    team = next(t for t in live.runtime.content.places.teams if t.id == "pref")

    words = desk.locator("#words")
    words.press_sequentially("こんばんは。 /窓口")
    menu = desk.locator("#canned-slash")
    expect(menu).to_be_visible()
    expect(words).to_have_attribute("aria-expanded", "true")
    expect(menu.locator("[role=option]")).to_have_text(["窓口と受付の時間を伝える"])
    words.press("Enter")  # picks the reply: it is put in, never sent
    expect(menu).to_be_hidden()
    expect(words).to_have_value(re.compile(
        rf"^こんばんは。 \n「{re.escape(team.name)}」の受付時間は、.+です。"))
    assert "{" not in words.input_value() and "/窓口" not in words.input_value()
    desk.wait_for_timeout(500)
    assert len(r.bot_messages()) == sent

    words.press("Control+End")
    words.press_sequentially("今夜のうちに、もう少し聞かせてください。")
    words.press("Control+Enter")
    wait_for(lambda: len(r.bot_messages()) > sent)
    delivered = texts(r.bot_messages()[sent:])
    assert f"「{team.name}」の受付時間は" in delivered
    assert "今夜のうちに、もう少し聞かせてください。" in delivered and "{hours}" not in delivered
    context.close()
