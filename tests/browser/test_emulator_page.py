"""A person using the emulator page in a real browser, as a resident uses LINE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.live import LiveApp

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApp]:
    app = LiveApp(f"sqlite:///{tmp_path}/browser.db").start()
    yield app
    app.stop()


def test_resident_types_taps_and_gets_answers(live: LiveApp, page: Page) -> None:
    page.goto(f"{live.url}/emulator/")
    log = page.locator("#log")
    # First visit: the page adds the bot as a friend and the greeting arrives.
    expect(log.locator(".row.bot").first).to_contain_text("ありがとうございます", timeout=10_000)
    expect(page.locator("#quick")).to_be_visible()

    page.fill("#text", "どうしたらいいかわからない")
    page.click("#send")
    expect(log.locator(".row.resident").last).to_contain_text("どうしたらいいかわからない")
    expect(log.locator(".row.bot").last).to_contain_text("このあと", timeout=10_000)
    expect(log).to_contain_text("受け取りました")

    page.locator("#quick").get_by_text("緊急の連絡先").click()
    expect(log.locator(".row.resident").last).to_contain_text("緊急の連絡先")
    call = page.locator('#log a[href="tel:119"]')
    expect(call).to_be_visible(timeout=10_000)

    page.click("#send-sticker")
    expect(log.locator(".row.bot").last).to_contain_text("言葉にしにくい", timeout=10_000)

    user_id = page.evaluate("localStorage.getItem('tsunagu.emulator.userId')")
    replies = [c for c in live.emulator.deliveries() if c.path == "/v2/bot/message/reply"]
    assert len(replies) == 4 and all(c.auth_ok for c in replies)  # through the real SDK
    # greeting 3 + acknowledgement 2 + emergency buttons 1 + sticker answer 1
    assert len(live.emulator.bot_messages(user_id)) == 7
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "emulator-page.png"), full_page=True)
