"""An administrator changes a question's wording in the browser: a broken target is caught and
shown at its line, fixed, tried in the console, published; new conversations get the new
wording while an ongoing one keeps its version; a rollback brings the old wording back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from handoff.models import Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
PASSWORD = "correct horse battery staple"
OLD = "どんなことでお困りですか。うまく言えなくても、ひとことでも大丈夫です。"
NEW = "いま、いちばん気がかりなことを教えてください。ひとことでも大丈夫です。"


# A server and SQLite database of each test's own (fresh_live): they publish releases.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def tap(page: Page, label: str) -> None:
    page.locator("#quick").get_by_text(label, exact=True).click()


def phone(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#log")).to_contain_text("はじめてもよいですか", timeout=10_000)
    return context, page


def edit_flow(page: Page, live: LiveApp, change: tuple[str, str]) -> None:
    page.goto(f"{live.url}/console/admin/files/flows/intake.yaml")
    area = page.locator("#text")
    area.fill(area.input_value().replace(*change, 1))
    page.click("#save")


def test_edit_validate_preview_publish_and_roll_back(fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    # A resident who started before the change.
    early_context, early = phone(browser, f"{live.url}/emulator/")

    desk = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    admin = desk.new_page()
    sign_in(admin, live.url, "admin")
    admin.get_by_role("link", name="コンテンツ管理").click()
    expect(admin.locator("#served")).to_contain_text("#1")

    # A broken target: caught on save, shown next to its line; publishing is not offered.
    edit_flow(admin, live, ("next: trouble}", "next: troubel}"))
    problems = admin.locator("#problems")
    expect(problems).to_contain_text("unknown target state 'troubel'")
    line = admin.locator("ol.listing li.bad")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("next: troubel}")
    expect(line.locator(".why")).to_contain_text("unknown target state")
    SCREENSHOTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(SCREENSHOTS / "admin-validation.png"), full_page=False)
    admin.goto(f"{live.url}/console/admin/")
    expect(admin.locator("#publish")).to_be_disabled()

    # Fixed, and the wording changed.
    edit_flow(admin, live, ("next: troubel}", "next: trouble}"))
    edit_flow(admin, live, (OLD, NEW))
    expect(admin.locator(".ok")).to_contain_text("問題は見つかりませんでした")
    admin.goto(f"{live.url}/console/admin/diff")
    expect(admin.locator("pre.diff .add")).to_contain_text(NEW)

    # Tried before publishing: the console answers as the draft will answer residents.
    admin.goto(f"{live.url}/console/admin/")
    admin.click("#preview")
    expect(admin.locator("#log")).to_contain_text("はじめてもよいですか")
    admin.locator("#choices").get_by_role("button", name="はじめる").click()
    expect(admin.locator("#log .row.bot").last).to_contain_text(NEW)
    admin.fill("#words", "今夜死のうと思う")
    admin.click("#send")
    expect(admin.locator("#log a.call").first).to_have_attribute("href", re.compile(r"^tel:"))
    admin.screenshot(path=str(SCREENSHOTS / "admin-rehearsal.png"), full_page=False)
    admin.goto(f"{live.url}/console/admin/")

    admin.fill("#reason", "最初の質問をやわらかく")
    admin.click("#publish")
    expect(admin.locator(".ok")).to_contain_text("#2 を公開しました")
    expect(admin.locator("#served")).to_contain_text("最初の質問をやわらかく")

    # New conversation: new wording. The early one finishes on its own version.
    late_context, late = phone(browser, f"{live.url}/emulator/")
    tap(late, "はじめる")
    expect(late.locator("#log .row.bot").last).to_contain_text(NEW, timeout=10_000)
    tap(early, "はじめる")
    expect(early.locator("#log .row.bot").last).to_contain_text(OLD, timeout=10_000)

    # Roll back to release 1.
    row = admin.locator("table.history tr", has_text="#1")
    row.locator("input[name=reason]").fill("元の文言に戻す")
    row.get_by_role("button", name="この内容に戻す").click()
    expect(admin.locator("#confirm-dialog")).to_contain_text("すぐにすべての相談者に届きます")
    admin.locator("#confirm-dialog").get_by_role("button", name="この内容に戻す").click()
    expect(admin.locator(".ok")).to_contain_text("#1 の内容を #3 として公開しました")
    admin.screenshot(path=str(SCREENSHOTS / "admin-history.png"), full_page=True)
    again_context, again = phone(browser, f"{live.url}/emulator/")
    tap(again, "はじめる")
    expect(again.locator("#log .row.bot").last).to_contain_text(OLD, timeout=10_000)

    for context in (early_context, late_context, again_context, desk):
        context.close()


def test_the_flow_diagram_renders_in_the_page_without_a_network(
        fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    # Anything outside this app would fail: the diagram must come from vendored code.
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        live.url) else route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live.url, "admin")
    page.goto(f"{live.url}/console/admin/diagram")
    svg = page.locator("#diagram svg")
    expect(svg).to_be_visible(timeout=15_000)
    expect(svg).to_contain_text("welcome")
    expect(svg).to_contain_text("handoff")
    page.screenshot(path=str(SCREENSHOTS / "admin-diagram.png"), full_page=False)
    assert errors == []
    context.close()
