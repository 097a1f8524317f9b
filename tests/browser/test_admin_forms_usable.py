"""Every content form at 1024 px in Chromium: no field without a name a screen reader can
say (a label, or aria-label), nothing wider than the window, and each form's first button
reachable with the keyboard alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from handoff.models import Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

PAGES = ["/console/admin/flow/", "/console/admin/flow/areas", "/console/admin/places/",
         "/console/admin/support/", "/console/admin/hotlines/", "/console/admin/followups/",
         "/console/admin/messages/", "/console/admin/replies/", "/console/admin/risk/",
         "/console/admin/risk/no_food", "/console/admin/corpus/",
         "/console/admin/corpus/evaluation"]

UNNAMED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(c => c.type !== 'hidden')
  .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
               && !c.getAttribute('aria-labelledby'))
  .map(c => c.name || c.id)"""

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def test_every_form_is_named_fits_1024_px_and_answers_the_keyboard(
        live: LiveApp, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "admin")
    for path in PAGES:
        answer = page.goto(f"{live.url}{path}")
        assert answer is not None and answer.status == 200, path
        # Closed sections are opened: their fields count as much as the open ones.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        assert page.evaluate(UNNAMED) == [], path
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024, path
        first = page.locator("main button").first
        if first.count():
            page.locator("body").focus()
            for _ in range(400):  # Tab until the first button has the focus
                page.keyboard.press("Tab")
                if first.evaluate("b => b === document.activeElement"):
                    break
            else:
                pytest.fail(f"{path}: the keyboard never reaches its first button")
    context.close()
