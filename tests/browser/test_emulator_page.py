"""A person using the emulator page in a real browser, as a resident uses LINE."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from handoff.models import Case
from tests.live import LiveApp, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


# A server and SQLite database of each test's own (fresh_live): first_case() reads any case.
pytestmark = pytest.mark.sqlite_only


def tap(page: Page, label: str) -> None:
    page.locator("#quick").get_by_text(label, exact=True).click()


def first_case(live: LiveApp) -> Case | None:
    with live.session() as s:
        return s.scalars(select(Case)).first()


def last_bot(page: Page) -> Locator:
    return page.locator("#log .row.bot").last


def test_resident_walks_the_intake_to_a_counsellor(fresh_live: LiveApp, page: Page) -> None:
    live = fresh_live
    page.goto(f"{live.url}/emulator/")
    # First visit: the page adds the bot as a friend and the welcome arrives.
    expect(page.locator("#log")).to_contain_text("同意なしに", timeout=10_000)
    expect(last_bot(page)).to_contain_text("はじめてもよいですか")

    tap(page, "緊急の連絡先")
    expect(page.locator('#log a[href="tel:119"]')).to_be_visible(timeout=10_000)
    tap(page, "続きから")
    expect(last_bot(page)).to_contain_text("はじめてもよいですか", timeout=10_000)

    tap(page, "はじめる")
    expect(last_bot(page)).to_contain_text("どんなことでお困りですか", timeout=10_000)
    page.fill("#text", "家賃が払えなくて、どうしたらいいかわからない")
    page.click("#send")
    expect(last_bot(page)).to_contain_text("どなたのこと", timeout=10_000)
    page.click("#send-sticker")  # a sticker mid-question: thanked, the question comes back
    expect(last_bot(page)).to_contain_text("どなたのこと", timeout=10_000)
    tap(page, "自分のこと")
    expect(last_bot(page)).to_contain_text("いくつでも選んでください", timeout=10_000)
    tap(page, "お金・生活費")
    expect(last_bot(page)).to_contain_text("選んだもの：お金・生活費", timeout=10_000)
    tap(page, "住まい")
    expect(last_bot(page)).to_contain_text("お金・生活費、住まい", timeout=10_000)
    tap(page, "選び終わった")
    expect(last_bot(page)).to_contain_text("今日のことで", timeout=10_000)
    tap(page, "どれもない")
    expect(last_bot(page)).to_contain_text("市町村", timeout=10_000)
    tap(page, "あおば町")
    expect(page.locator("#log")).to_contain_text("県社協", timeout=10_000)
    tap(page, "このままでよい")
    expect(last_bot(page)).to_contain_text("年代", timeout=10_000)
    tap(page, "答えたくない")
    expect(last_bot(page)).to_contain_text("お返事は", timeout=10_000)
    tap(page, "このLINEで")
    expect(last_bot(page)).to_contain_text("時間帯", timeout=10_000)
    tap(page, "いつでも")
    expect(last_bot(page)).to_contain_text("同意いただけますか", timeout=10_000)
    # No blanket sharing question: each referral asks its own, and this says so first.
    expect(page.locator("#log")).to_contain_text("そのつど、どこに・何のために伝えるか")
    tap(page, "同意する")
    expect(page.locator("#log")).to_contain_text("相談員におつなぎしました", timeout=10_000)

    page.fill("#text", "よろしくお願いします")
    page.click("#send")
    expect(last_bot(page)).to_contain_text("相談員にお伝えします", timeout=10_000)

    found = wait_for(lambda: first_case(live))
    assert found.team_id == "pref" and found.life_areas == ["money", "housing"]
    assert found.consent["counsellor"]["granted"] and not found.consent.get("share")
    assert all(c.auth_ok for c in live.emulator.calls)  # every answer went through the SDK
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "emulator-page.png"), full_page=False)


def test_danger_typed_mid_intake_brings_the_numbers_and_a_top_priority_case(
    fresh_live: LiveApp, page: Page
) -> None:
    live = fresh_live
    page.goto(f"{live.url}/emulator/")
    expect(last_bot(page)).to_contain_text("はじめてもよいですか", timeout=10_000)
    tap(page, "はじめる")
    expect(last_bot(page)).to_contain_text("どんなことでお困りですか", timeout=10_000)
    page.fill("#text", "もう限界。今夜死のうと思う")
    page.click("#send")
    expect(page.locator('#log a[href="tel:119"]').last).to_be_visible(timeout=10_000)
    expect(page.locator("#log")).to_contain_text("あなたの命が、いちばん大切です")

    found = wait_for(lambda: first_case(live))
    assert found.priority == "imminent" and found.basis == "life_safety"
    page.screenshot(path=str(SCREENSHOTS / "emulator-emergency.png"), full_page=False)


def test_danger_typed_in_english_or_split_over_bubbles_brings_the_numbers(
        fresh_live: LiveApp, page: Page) -> None:
    live = fresh_live
    """The resident's side of the risk reading, in the page a resident would use."""
    page.goto(f"{live.url}/emulator/")
    expect(last_bot(page)).to_contain_text("はじめてもよいですか", timeout=10_000)
    page.fill("#text", "I'm going to kill myself tonight")
    page.click("#send")
    expect(page.locator('#log a[href="tel:119"]').last).to_be_visible(timeout=10_000)
    case = wait_for(lambda: first_case(live))
    assert case.priority == "imminent"

    # A second resident (a browser of their own), whose plan shows only across three bubbles.
    assert page.context.browser is not None
    other = page.context.browser.new_page(viewport={"width": 390, "height": 844}, locale="ja-JP")
    other.goto(f"{live.url}/emulator/")
    expect(other.locator("#log .row.bot").last).to_contain_text("はじめてもよいですか",
                                                                 timeout=10_000)
    for words in ["もう疲れました", "薬を全部飲みます", "今夜"]:
        other.fill("#text", words)
        other.click("#send")
        expect(other.locator("#log .row.resident").last).to_contain_text(words, timeout=10_000)
    expect(other.locator('#log a[href="tel:119"]').last).to_be_visible(timeout=10_000)
    other.close()
