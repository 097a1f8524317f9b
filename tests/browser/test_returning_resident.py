"""A resident who comes back, as the counsellor meets them in the browser: the same name in the
queue, marked 「再相談」, and on their new case page what happened last time."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case, texts, wait_for

pytestmark = pytest.mark.sqlite_only

NOTE = "家賃の滞納2か月。法テラスの相談日を一緒に決めた。"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_a_returning_residents_history_shows(live: LiveApp, browser: Browser) -> None:
    r, first = resident_with_case(live)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    desk = context.new_page()
    sign_in(desk, live.url, "sato")
    desk.goto(f"{live.url}/console/cases/{first}")
    desk.click("#claim")
    wait_for(lambda: "佐藤" in texts(r.bot_messages()) and r.all_sent())
    pseudonym = desk.locator("h1").inner_text().split()[:2]
    desk.fill("#note", NOTE)
    desk.click("#add-note")
    desk.select_option("#outcome", "referred")
    desk.fill("#detail", "法テラス")
    desk.click("#close")
    desk.click("#confirm-yes")
    expect(desk.locator("h1")).to_have_text("受付一覧")

    r.say("人と話したい")  # weeks later, the same person
    wait_for(r.all_sent)
    row = desk.locator("#waiting tr", has_text=" ".join(pseudonym))
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".badge.returning")).to_have_text("再相談")
    row.locator("a").click()
    history = desk.locator("#history")
    expect(history).to_contain_text("これまでの相談（1件）")
    expect(history).to_contain_text("他機関へつないだ（法テラス）")
    expect(history).to_contain_text(NOTE)
    context.close()
