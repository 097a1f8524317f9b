"""Two people at the desk in real browsers: a counsellor takes the next case with one click, a
supervisor watches the floor and whispers to them; the counsellor sees the whisper, and the
resident's phone never gets it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case, texts, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
WHISPER = "住居確保給付金の要件も、いっしょに確認してみてください。"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    from handoff.models import Role
    return [Staff("sato", "佐藤", team_id="pref"), Staff("boss", "主任", Role.SUPERVISOR, "pref")]


def console(browser: Browser, live: LiveApp, username: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, username)
    return context, page


def test_take_next_the_floor_and_a_whisper_that_never_reaches_line(
        live: LiveApp, browser: Browser) -> None:
    r, case_id = resident_with_case(live)
    sato_context, sato = console(browser, live, "sato")
    boss_context, boss = console(browser, live, "boss")

    sato.click("#take-next")
    expect(sato).to_have_url(f"{live.url}/console/cases/{case_id}")
    wait_for(lambda: "佐藤" in texts(r.bot_messages()) and r.all_sent())

    boss.goto(f"{live.url}/console/floor")
    row = boss.locator(f"#floor-chats-table tr:has(a[href='/console/cases/{case_id}'])")
    expect(row).to_contain_text("佐藤")
    expect(row).to_contain_text("返事済み")
    boss.evaluate("window.notReloaded = true")
    r.send(r.text("今夜泊まるところがありません"))
    # The floor updates by itself: the resident now waits for an answer, and it ticks.
    expect(row.locator(".ticking")).to_have_text("0分", timeout=15_000)
    assert boss.evaluate("window.notReloaded") is True
    wait_for(r.all_sent)  # the bot's own answer to those words (a safety net for tonight)
    sent = len(r.bot_messages())
    SCREENSHOTS.mkdir(exist_ok=True)
    boss.screenshot(path=str(SCREENSHOTS / "console-floor.png"), full_page=True)

    row.locator("a").click()
    expect(boss.locator("#read-only")).to_contain_text("佐藤さんが担当しています")
    expect(boss.locator("#words")).to_have_count(0)  # read-only: no reply box
    boss.fill("#whisper", WHISPER)
    boss.click("#send-whisper")
    expect(boss.locator("#whispers")).to_contain_text(WHISPER)

    # 佐藤's open case page shows it by itself; so does the queue, for the next one.
    expect(sato.locator("#whispers")).to_contain_text(WHISPER, timeout=15_000)
    sato.goto(f"{live.url}/console/")
    sato.evaluate("window.notReloaded = true")
    boss.fill("#whisper", "無理せず、休憩も取ってください。")
    boss.click("#send-whisper")
    badge = sato.locator(f"tr:has(a[href='/console/cases/{case_id}']) .badge.whisper")
    expect(badge).to_have_text("主任から 1", timeout=15_000)
    assert sato.evaluate("window.notReloaded") is True
    sato.screenshot(path=str(SCREENSHOTS / "console-queue-desk.png"), full_page=True)
    sato.click(f"a[href='/console/cases/{case_id}']")
    expect(sato.locator("#whispers")).to_contain_text("無理せず、休憩も取ってください。")
    expect(sato.locator("#whispers")).to_contain_text("主任")
    sato.screenshot(path=str(SCREENSHOTS / "console-whisper.png"), full_page=True)
    sato.wait_for_timeout(1000)
    assert len(r.bot_messages()) == sent
    assert WHISPER not in texts(r.bot_messages())
    assert "無理せず" not in texts(r.bot_messages())
    sato.goto(f"{live.url}/console/search?status=all&mine=1")
    expect(sato.locator("#search-results")).to_contain_text("対応中")
    sato.screenshot(path=str(SCREENSHOTS / "console-search.png"), full_page=True)
    for context in (sato_context, boss_context):
        context.close()
