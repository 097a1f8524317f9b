"""A resident choosing their language on the emulator page, in a real browser: English and
やさしい日本語 (the screenshots in docs/ come from here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.content.languages import Translator
from bot.releases.load import load_content
from tests.live import LiveApp

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results"
CONTENT = load_content(ROOT / "content")

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(("code", "label"), [("en", "English"),
                                             ("ja_easy", "やさしい にほんご")])
def test_a_resident_reads_the_intake_in_their_language(fresh_live: LiveApp, page: Page,
                                                       code: str, label: str) -> None:
    tr = Translator(CONTENT.languages[code])
    flow = CONTENT.flows["intake"].flow
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(f"{fresh_live.url}/emulator/")
    expect(page.locator("#log")).to_contain_text("同意なしに", timeout=10_000)
    page.locator("#quick").get_by_text("ことば・Language", exact=True).click()
    page.locator("#quick").get_by_text(label, exact=True).click()
    welcome_q = flow.states["welcome"].ask.text[-1].text  # type: ignore[union-attr]
    expect(page.locator("#log .row.bot").last).to_contain_text(tr(welcome_q), timeout=10_000)
    page.locator("#quick").get_by_text(tr("はじめる"), exact=True).click()
    trouble_q = flow.states["trouble"].ask.text[-1].text  # type: ignore[union-attr]
    expect(page.locator("#log .row.bot").last).to_contain_text(tr(trouble_q), timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"resident-{code}.png"), full_page=True)
