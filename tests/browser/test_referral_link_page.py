"""A department's referral link, end to end in a real browser: the supervisor's 紹介用リンク
page gives the demo's link, the resident's LINE (the emulator) opens with the greeting typed
in, and once it is sent the conversation knows which department sent them."""

from __future__ import annotations

import re
from html import unescape

import pytest
from playwright.sync_api import Page, expect

from bot.flows.referral_links import prefilled_text
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.models import Role
from tests.live import LiveApp, Resident, Staff, conversation_of, logged_in, wait_for

pytestmark = pytest.mark.sqlite_only

WATER = next(s for s in load_content(DEFAULT_CONTENT_DIR).places.referrals.sources
             if s.id == "water")


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("boss", "主任", Role.SUPERVISOR, "pref")]


def test_the_demo_link_opens_the_chat_with_the_greeting_and_records_the_source(
        fresh_live: LiveApp, page: Page) -> None:
    live = fresh_live
    links = unescape(logged_in(live, "boss").get("/console/referral-links").text)
    card = links.split('id="source-water"')[1].split("</section>")[0]
    demo = re.search(r'class="demo-link" href="([^"]+)"', card)
    assert demo is not None

    page.goto(f"{live.url}{demo.group(1)}")
    expect(page.locator("#text")).to_have_value(prefilled_text(WATER), timeout=10_000)
    assert "oaMessage" not in page.url  # a reload does not type it in again
    # As in LINE: adding the account came first (the welcome), then the resident sends it.
    expect(page.locator("#log")).to_contain_text("はじめてもよいですか", timeout=10_000)
    page.click("#send")
    expect(page.locator("#log .row.bot")).to_have_count(8, timeout=10_000)  # welcome again

    user_id = page.evaluate("localStorage.getItem('tsunagu.emulator.userId')")
    resident = Resident(live, user_id)
    wait_for(lambda: conversation_of(live, resident).source == "water")
    assert "trouble" not in conversation_of(live, resident).answers
