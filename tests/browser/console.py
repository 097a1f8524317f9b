"""The console as a counsellor's browser meets it: signing in."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.live import PASSWORD, LiveApp, Resident, resident_with_case, texts, wait_for


def sign_in(page: Page, url: str, username: str, *, go: bool = True) -> None:
    """Sign in as `username` (its password is the tests' PASSWORD) and wait for the queue.
    `go=False`: the page is already on the login form (a redirect brought it there)."""
    if go:
        page.goto(f"{url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("受付一覧")


@dataclass
class Desk:
    """A counsellor at a desk-sized browser, holding a resident's case they just claimed."""

    context: BrowserContext
    page: Page
    resident: Resident
    case_id: int


def claimed_case(browser: Browser, live: LiveApp, username: str, display_name: str) -> Desk:
    """A resident asks for a person; `username` signs in, claims the case and the resident
    has been told who joined (so later counts of their messages start from there)."""
    resident, case_id = resident_with_case(live)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, username)
    page.goto(f"{live.url}/console/cases/{case_id}")
    page.click("#claim")
    wait_for(lambda: display_name in texts(resident.bot_messages()) and resident.all_sent())
    return Desk(context, page, resident, case_id)
