"""A counsellor and a resident, each in their own browser: the queue is live, replies reach LINE."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from handoff.models import Case
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
PASSWORD = "correct horse battery staple"


# A server and SQLite database of the test's own (fresh_live).
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def tap(page: Page, label: str) -> None:
    page.locator("#quick").get_by_text(label, exact=True).click()


def test_a_counsellor_takes_a_resident_live(fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    counsellor = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ja-JP")
    desk = counsellor.new_page()
    desk.goto(f"{live.url}/console/")
    expect(desk).to_have_url(f"{live.url}/console/login")
    sign_in(desk, live.url, "sato", go=False)
    expect(desk.locator("#live")).to_contain_text("待っている相談はありません")

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    phone = phone_context.new_page()
    phone.goto(f"{live.url}/emulator/")
    expect(phone.locator("#log")).to_contain_text("はじめてもよいですか", timeout=10_000)
    tap(phone, "人と話したい")
    expect(phone.locator("#log .row.bot").last).to_contain_text("同意いただけますか",
                                                                timeout=10_000)
    tap(phone, "同意する")
    expect(phone.locator("#log")).to_contain_text("おつなぎしました", timeout=10_000)

    # The queue page was not reloaded: the new case arrives over SSE.
    row = desk.locator("#waiting tbody tr").first
    expect(row).to_contain_text("相談者", timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(SCREENSHOTS / "console-queue.png"))
    row.locator("a").click()
    desk.click("#claim")
    expect(phone.locator("#log .row.bot").last).to_contain_text("相談員の佐藤です",
                                                                timeout=10_000)

    phone.fill("#text", "家賃が払えなくて、眠れません")
    phone.click("#send")
    expect(desk.locator("#live")).to_contain_text("家賃が払えなくて", timeout=10_000)
    desk.fill("#words", "教えてくださってありがとうございます。いっしょに考えましょう。")
    desk.click("#send")
    expect(phone.locator("#log .row.bot").last).to_contain_text("いっしょに考えましょう",
                                                                timeout=10_000)
    expect(desk.locator("#live")).to_contain_text("送信済み", timeout=10_000)
    desk.screenshot(path=str(SCREENSHOTS / "console-case.png"), full_page=True)

    desk.select_option("#outcome", "referred")
    desk.fill("#detail", "法テラス")
    # Closing asks first, saying what will happen; やめる (the default) leaves it open.
    desk.click("#close")
    dialog = desk.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("結果は「他機関へつないだ」として記録されます")
    expect(desk.locator("#confirm-no")).to_be_focused()
    desk.click("#confirm-no")
    expect(dialog).to_be_hidden()
    with live.session() as s:
        assert s.scalars(select(Case)).one().status == "claimed"
    desk.click("#close")
    desk.click("#confirm-yes")
    expect(desk.locator("h1")).to_have_text("受付一覧")
    expect(phone.locator("#log")).to_contain_text("いったん終わりにします", timeout=10_000)
    with live.session() as s:
        case = s.scalars(select(Case)).one()
    assert case.status == "closed" and case.outcome == "referred"
    counsellor.close()
    phone_context.close()
