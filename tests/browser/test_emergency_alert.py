"""An imminent message alerts every counsellor of the desk, in their own browsers, until two of
them have acknowledged it; the case page keeps what was done."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from handoff.models import AuditEntry, EmergencyAlert, Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
IMMINENT = "今から飛び降りて死にます"

# A server and SQLite database of the test's own (fresh_live).
pytestmark = pytest.mark.sqlite_only

# Records the desktop notifications the page shows (a headless browser shows none).
FAKE_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) { window.__notes.push({ title, body: (options || {}).body }); }
  close() {}
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", Role.SUPERVISOR, "pref")]


def desk(browser: Browser, live: LiveApp, username: str, *,
         notifications: bool = False) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ja-JP")
    if notifications:
        context.add_init_script(FAKE_NOTIFICATIONS)
    page = context.new_page()
    sign_in(page, live.url, username)
    return context, page


def test_two_counsellors_are_alerted_until_both_acknowledge(fresh_live: LiveApp,
                                                            browser: Browser) -> None:
    live = fresh_live
    sato_context, sato = desk(browser, live, "sato", notifications=True)
    suzuki_context, suzuki = desk(browser, live, "suzuki")
    # Sato's second tab: one stream serves the browser's tabs (the first tab listens for all).
    sato_tab = sato_context.new_page()
    streams: list[str] = []
    sato_tab.on("request", lambda r: streams.append(r.url) if "/alerts/stream" in r.url else None)
    sato_tab.goto(f"{live.url}/console/")
    for page in (sato, sato_tab, suzuki):
        expect(page.locator("#emergency")).to_be_hidden()

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    phone = phone_context.new_page()
    phone.goto(f"{live.url}/emulator/")
    expect(phone.locator("#log")).to_contain_text("はじめてもよいですか", timeout=10_000)
    phone.fill("#text", IMMINENT)
    phone.click("#send")
    expect(phone.locator("#log")).to_contain_text("119", timeout=10_000)

    # No page was reloaded: the alert arrives over the live stream, in both browsers.
    for page in (sato, sato_tab, suzuki):
        banner = page.locator("#emergency")
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text("命の危険が差し迫っている相談です")
        expect(banner).to_contain_text("県社協")
        expect(banner.locator(".count")).to_have_text("0 / 2")
        expect(banner.get_by_role("button", name="確認しました")).to_be_visible()
        expect(banner).not_to_contain_text(IMMINENT)  # words stay on the case page
    # The permission is asked on a click, not on load; asking must not break the banner.
    ask = suzuki.locator("#alerts-notify")
    expect(ask).to_be_visible()
    ask.click()
    notes = sato.evaluate("window.__notes")
    assert len(notes) == 1 and notes[0]["title"].startswith("緊急：相談者 ")
    assert IMMINENT not in str(notes)

    # The first acknowledgement: still shown in both, 1 of 2, smaller for the one who did it.
    sato.locator("#emergency").get_by_role("button", name="確認しました").click()
    expect(sato.locator("#emergency .count")).to_have_text("1 / 2")
    expect(sato.locator("#emergency")).to_contain_text("あなたは確認済みです")
    expect(sato.locator("#emergency").get_by_role("button", name="確認しました")).to_have_count(0)
    expect(suzuki.locator("#emergency .count")).to_have_text("1 / 2", timeout=10_000)
    expect(suzuki.locator("#emergency")).to_contain_text("佐藤")
    expect(sato_tab.locator("#emergency")).to_contain_text("あなたは確認済みです")
    SCREENSHOTS.mkdir(exist_ok=True)
    suzuki.screenshot(path=str(SCREENSHOTS / "console-emergency.png"))

    # The second person: the alert has been seen by two and leaves both consoles.
    suzuki.locator("#emergency").get_by_role("button", name="確認しました").click()
    for page in (suzuki, sato, sato_tab):
        expect(page.locator("#emergency")).to_be_hidden(timeout=10_000)
    assert streams == []  # the second tab heard everything through the first one's stream
    with live.session() as s:
        [alert] = s.scalars(select(EmergencyAlert)).all()
        assert alert.acknowledged_at is not None
        assert len(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "emergency_ack")).all()) == 2

    # What was done goes on the case's record, with who and when.
    sato.goto(f"{live.url}/console/cases/{alert.case_id}")
    record = sato.locator("#emergency-record")
    expect(record).to_contain_text("佐藤（")  # acknowledged by, at
    sato.select_option("#emergency-action", "called_119")
    sato.fill("#emergency-by", "主任の鈴木")
    sato.fill("#emergency-outcome", "救急車が向かった")
    sato.click("#emergency-record-add")
    expect(sato.locator("#emergency-record")).to_contain_text(
        "119番に通報した（主任の鈴木）：救急車が向かった")
    expect(sato.locator("#emergency-record")).to_contain_text("記録：佐藤")
    for context in (sato_context, suzuki_context, phone_context):
        context.close()
