"""Presence and the time to a person in real browsers: a counsellor's 離席 / 対応可能 reaches a
colleague's open queue page without a reload, and a supervisor is alerted when an imminent
case waits past its 5 minutes while the desk is open."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.db.models import Conversation, utcnow
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.models import Case, Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

STAFF = [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref"),
         Staff("boss", "主任", Role.SUPERVISOR, "pref")]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
LATE = re.compile(r"\bsla-late\b")


def always_open(folder: Path) -> Path:
    """The shipped content with every desk open all day, every day: the SLA counts now."""
    content = folder / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    places = yaml.safe_load((content / "places.yaml").read_text(encoding="utf-8"))
    for team in places["teams"]:
        team["hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         "open": "00:00", "close": "24:00"}
    (content / "places.yaml").write_text(yaml.safe_dump(places, allow_unicode=True),
                                         encoding="utf-8")
    return content


def console(browser: Browser, live: LiveApp, username: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, username)
    return context, page


def imminent_case(live: LiveApp, waited: timedelta) -> int:
    """An imminent case for the prefecture's desk that has waited this long."""
    with live.session() as s, s.begin():
        conv = Conversation(line_user_id=f"U{uuid.uuid4().hex}", flow_id="intake",
                            flow_version="v", state="handoff")
        s.add(conv)
        s.flush()
        row = Case(conversation_id=conv.id, team_id="pref", priority="imminent",
                   basis="life_safety", opened_at=utcnow() - waited)
        s.add(row)
        s.flush()
        return row.id


def test_presence_and_the_sla_alert_are_live(
        fresh_database_url: str, live_factory: Callable[..., LiveApp], browser: Browser,
        tmp_path: Path) -> None:
    settings: dict[str, Any] = {"content_dir": always_open(tmp_path)}
    live = live_factory(fresh_database_url, staff=STAFF, **settings)
    sato_context, sato = console(browser, live, "sato")
    suzuki_context, suzuki = console(browser, live, "suzuki")
    desk = suzuki.locator("#desk-pref")
    expect(desk).to_contain_text("いまコンソールにいる相談員はいません")
    expect(sato.locator("#presence button.chosen")).to_have_text("終了")
    suzuki.evaluate("window.notReloaded = true")

    sato.click("#presence button[value=available]")
    expect(sato.locator("#presence button.chosen")).to_have_text("対応可能")
    expect(desk).to_contain_text("佐藤（対応可能）", timeout=15_000)
    sato.click("#presence button[value=away]")
    expect(sato.locator("#presence button.chosen")).to_have_text("離席")
    expect(desk).to_contain_text("佐藤（離席）", timeout=15_000)
    sato.click("#presence button[value=available]")
    expect(desk).to_contain_text("佐藤（対応可能）", timeout=15_000)
    assert suzuki.evaluate("window.notReloaded") is True  # the live connection did it
    # A counsellor is not the one alerted: no banner on their pages.
    expect(suzuki.locator("#sla-banner")).to_have_count(0)

    # Past its 5 minutes already, and one that passes them while the supervisor watches.
    late = imminent_case(live, timedelta(minutes=6))
    soon = imminent_case(live, timedelta(minutes=5) - timedelta(seconds=12))
    boss_context, boss = console(browser, live, "boss")
    boss.evaluate("window.notReloaded = true")
    banner = boss.locator("#sla-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("時間を過ぎて待っている相談があります")
    expect(boss.locator(f"#waiting tr:has(a[href='/console/cases/{late}'])")).to_have_class(
        LATE)
    # No reload, no write: the page's own clock and its check find the second one.
    expect(banner.locator(".sla-count")).to_have_text("2", timeout=30_000)
    # (a loaded machine may redraw the table meanwhile: the mark must come back by itself)
    expect(boss.locator(f"#waiting tr:has(a[href='/console/cases/{soon}'])")).to_have_class(
        LATE, timeout=30_000)
    assert boss.evaluate("window.notReloaded") is True
    expect(boss.locator("#desk-pref .desk-past")).to_contain_text("2件", timeout=30_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    boss.screenshot(path=str(SCREENSHOTS / "console-desk-sla.png"))
    # The alert is on every console page of the supervisor, not only the queue.
    boss.goto(f"{live.url}/console/outcomes")
    expect(boss.locator("#sla-banner .sla-count")).to_have_text("2")
    for context in (sato_context, suzuki_context, boss_context):
        context.close()
