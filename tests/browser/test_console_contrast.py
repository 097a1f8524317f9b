"""Every button and link a counsellor reads on the queue and on a case page meets WCAG AA
contrast (4.5:1 for text), measured in Chromium from the computed colours: the green buttons
once had 2.26:1 and 「この相談にはフォローアップを送らない」 was white on white."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case

pytestmark = pytest.mark.sqlite_only

# For each visible button and link: its text colour against the first opaque background behind
# it (its own, else its ancestors'), by the WCAG 2 formula.
LOW_CONTRAST = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("button, a, input[type=submit]")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const bg = lum(behind(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const name = (el.id || el.textContent.trim()).slice(0, 40);
    if (ratio < 4.5) low.push(`${name}: ${ratio.toFixed(2)}`);
  }
  return low;
}
"""


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def low_contrast(page: Page) -> list[str]:
    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")  # folded forms count too
    found: list[str] = page.evaluate(LOW_CONTRAST)
    return found


def test_buttons_and_links_meet_aa_contrast(fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    _, case_id = resident_with_case(live)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "sato")
    assert low_contrast(page) == []
    page.goto(f"{live.url}/console/cases/{case_id}")
    page.click("#claim")
    page.wait_for_selector("#followups-forbid")
    assert low_contrast(page) == []
    context.close()
