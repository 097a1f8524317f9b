"""The phone page shows LINE's own conventions as a resident would meet them: the rich menu
(tapping its tiles talks to the bot), 既読 once the counsellor holding the case opened the
chat, and the loading animation while that counsellor writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.edge.line_client import RichMenuClient
from bot.platform import richmenu
from handoff.models import Case
from tests.live import LiveApp, Staff, csrf_of, logged_in, wait_for

pytestmark = pytest.mark.sqlite_only
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def publish_menu(live: LiveApp) -> None:
    try:
        fonts = richmenu.find_fonts()
    except richmenu.NoFont:
        if os.environ.get("CI"):
            pytest.fail("a Japanese font is required in CI (.ci/run installs fonts-noto-cjk)")
        pytest.skip("no Japanese font on this machine (apt-get install fonts-noto-cjk)")
    copy = live.runtime.content.messages.richmenu
    client = RichMenuClient(base_url=live.settings.line_api_base_url,
                            data_base_url=live.settings.line_data_api_base_url,
                            access_token=live.settings.access_token, timeout_seconds=10)
    try:
        richmenu.publish(client, copy, richmenu.draw(copy, fonts))
    finally:
        client.close()


def tile(page: Page, label: str) -> None:
    page.locator(f'#richmenu-areas button[aria-label="{label}"]').click()


def test_the_rich_menu_read_marks_and_typing_on_the_phone(fresh_live: LiveApp,
                                                          page: Page) -> None:
    live = fresh_live
    page.goto(f"{live.url}/emulator/")
    expect(page.locator("#log")).to_contain_text("同意なしに", timeout=10_000)
    expect(page.locator("#richmenu")).to_be_hidden()

    publish_menu(live)  # the open page hears of the new default menu
    expect(page.locator("#richmenu-image")).to_be_visible(timeout=10_000)
    expect(page.locator("#richmenu-areas button")).to_have_count(4)
    expect(page.locator("#chatbar")).to_contain_text("メニュー")
    assert page.locator("#richmenu-image").evaluate("img => img.naturalWidth") == 2500

    tile(page, "緊急の連絡先")
    expect(page.locator('#log a[href="tel:119"]').last).to_be_visible(timeout=10_000)
    tile(page, "人と話す")  # the chat shows the words LINE would show for the tap
    expect(page.locator("#log .row.resident").last).to_contain_text("人と話したい")
    expect(page.locator("#quick")).to_contain_text("同意する", timeout=10_000)
    page.locator("#quick").get_by_text("同意する", exact=True).click()
    expect(page.locator("#log")).to_contain_text("相談員におつなぎしました", timeout=10_000)
    page.fill("#text", "家賃のことで相談したいです")
    page.click("#send")
    mine = page.locator("#log .row.resident").last
    expect(mine).to_contain_text("家賃のことで")
    expect(page.locator("#log .row.bot").last).to_contain_text("相談員にお伝えします",
                                                                timeout=10_000)
    expect(mine.locator(".read")).to_have_text("")  # the account's chat is on: not yet read

    def case_id_of() -> int | None:
        with live.session() as s:
            return s.scalar(select(Case.id))

    case_id = wait_for(case_id_of)
    sato = logged_in(live, "sato")
    case_page = f"/console/cases/{case_id}"
    sato.post(f"{case_page}/claim", data={"csrf": csrf_of(sato, case_page)})
    sato.get(case_page)  # the counsellor opens the chat
    expect(mine.locator(".read")).to_have_text("既読", timeout=10_000)
    expect(page.locator("#log .row.resident .read", has_text="既読")).to_have_count(
        page.locator("#log .row.resident").count())  # everything before it too

    sato.post(f"{case_page}/typing", data={"csrf": csrf_of(sato, case_page)})
    expect(page.locator("#typing")).to_be_visible(timeout=10_000)
    sato.post(f"{case_page}/reply", data={"csrf": csrf_of(sato, case_page),
                                          "words": "佐藤です。お話を聞かせてください。"})
    expect(page.locator("#log .row.bot").last).to_contain_text("お話を聞かせてください",
                                                                timeout=10_000)
    expect(page.locator("#typing")).to_have_count(0)  # the reply ends the animation

    expect(page.locator("#log .notice.error")).to_have_count(0)  # every event was taken
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "emulator-richmenu.png"), full_page=False)
    page.locator("#chatbar").click()  # the chat bar folds the menu away, as in LINE
    expect(page.locator("#richmenu-panel")).to_be_hidden()
