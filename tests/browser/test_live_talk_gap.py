"""In a real browser: words that arrive after the case page was drawn but before its live
stream had read where things stood still appear, without a reload. (The stream's baseline
would include them, so only its first 'ready' event brings them: on a loaded machine that gap
is seconds wide.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from handoff.models import CaseMessage
from tests.browser.console import claimed_case
from tests.live import LiveApp, Staff, wait_for

pytestmark = pytest.mark.sqlite_only
WORDS = "電気が止まりそうで、こわいです"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_words_between_the_page_and_its_stream_are_not_lost(live: LiveApp,
                                                            browser: Browser) -> None:
    held = claimed_case(browser, live, "sato", "佐藤")
    desk, r, case_id = held.page, held.resident, held.case_id
    refused: list[str] = []

    def no_stream(route: Route) -> None:
        refused.append(route.request.url)
        route.abort()

    # The page is drawn, but its stream cannot connect yet: the widest such gap.
    desk.route("**/console/stream*", no_stream)
    desk.reload()
    wait_for(lambda: len(refused) >= 1)
    desk.evaluate("window.notReloaded = true")
    r.send(r.text(WORDS))
    wait_for(lambda: live.count(CaseMessage, CaseMessage.case_id == case_id) == 1)
    expect(desk.locator("#live")).not_to_contain_text(WORDS)
    desk.unroute("**/console/stream*")  # the browser reconnects by itself
    expect(desk.locator("#live")).to_contain_text(WORDS, timeout=15_000)
    assert desk.evaluate("window.notReloaded") is True
    held.context.close()
