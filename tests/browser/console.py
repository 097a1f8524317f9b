"""The console as a counsellor's browser meets it: signing in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.live import PASSWORD


def sign_in(page: Page, url: str, username: str, *, go: bool = True) -> None:
    """Sign in as `username` (its password is the tests' PASSWORD) and wait for the queue.
    `go=False`: the page is already on the login form (a redirect brought it there)."""
    if go:
        page.goto(f"{url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("受付一覧")
