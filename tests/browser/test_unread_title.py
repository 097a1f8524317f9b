"""In a real browser: the queue's title counts a resident's new words as they arrive (no
reload), the talk marks them, and the count clears once the counsellor has looked."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from handoff.models import CaseMessage
from tests.browser.console import claimed_case
from tests.live import LiveApp, Staff, wait_for

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_the_title_counts_new_words_and_clears_once_seen(live: LiveApp,
                                                         browser: Browser) -> None:
    held = claimed_case(browser, live, "sato", "佐藤")
    context, desk, r, case_id = held.context, held.page, held.resident, held.case_id
    desk.goto(f"{live.url}/console/")
    expect(desk).to_have_title("受付一覧 | tsunagu")
    desk.evaluate("window.notReloaded = true")

    r.send(r.text("今月の家賃が払えません"))
    wait_for(lambda: live.count(CaseMessage, CaseMessage.case_id == case_id) == 1)
    expect(desk).to_have_title("(1) 受付一覧 | tsunagu", timeout=15_000)
    row = desk.locator(f"tr:has(a[href='/console/cases/{case_id}'])")
    expect(row.locator(".badge.new-words")).to_have_text("新着 1")
    assert desk.evaluate("window.notReloaded") is True

    desk.click(f"a[href='/console/cases/{case_id}']")
    new = desk.locator(".transcript .line.resident.new")
    expect(new).to_have_count(1)
    expect(new).to_contain_text("今月の家賃が払えません")
    expect(new.locator(".new-mark")).to_have_text("新着")
    desk.goto(f"{live.url}/console/")
    expect(desk).to_have_title("受付一覧 | tsunagu")
    expect(row.locator(".badge.new-words")).to_have_count(0)
    context.close()
