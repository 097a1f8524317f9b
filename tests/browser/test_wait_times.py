"""Waiting times on an open console page move by themselves and read as a counsellor reads
them: 「2時間5分」, 「1日」, never 「1497分」."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Browser, expect

from bot.db.models import Conversation, utcnow
from handoff.durations import minutes_text
from handoff.models import Case, CaseStatus, Counsellor
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

STAFF = [Staff("sato", "佐藤", team_id="pref")]


def case_opened(live: LiveApp, ago: timedelta, *, holder: str | None = None) -> int:
    with live.session() as s, s.begin():
        conv = Conversation(line_user_id=f"U{uuid.uuid4().hex}", flow_id="intake",
                            flow_version="v", state="handoff")
        s.add(conv)
        s.flush()
        row = Case(conversation_id=conv.id, team_id="pref", priority="normal",
                   basis="consent", opened_at=utcnow() - ago)
        if holder:
            counsellor = s.query(Counsellor).filter_by(username=holder).one()
            row.status, row.claimed_by, row.claimed_at = \
                CaseStatus.CLAIMED, counsellor.id, utcnow()
        s.add(row)
        s.flush()
        return row.id


def test_waits_tick_on_an_open_page_and_long_ones_read_in_hours_and_days(
        fresh_database_url: str, live_factory: Callable[..., LiveApp],
        browser: Browser) -> None:
    live = live_factory(fresh_database_url, staff=STAFF)
    long_wait = case_opened(live, timedelta(minutes=1497, seconds=20))
    held = case_opened(live, timedelta(minutes=125, seconds=20), holder="sato")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "sato")

    waiting = page.locator(f"#waiting tr:has(a[href='/console/cases/{long_wait}']) .ticking")
    mine = page.locator(f"tr:has(a[href='/console/cases/{held}']) .ticking")
    expect(waiting).to_have_text("1日")
    expect(mine).to_have_text("2時間5分")
    assert "1497分" not in page.content()

    # Without a reload, the page's own clock moves a time on (it ticks every 15 seconds):
    # this case reaches 2時間6分 three seconds from now. (After the stream's first refresh,
    # which would redraw the list with the server's times.)
    expect(page.locator("#live[data-synced]")).to_have_count(1)
    page.evaluate("window.notReloaded = true")
    mine.evaluate("el => { el.dataset.since = String(Date.now() - (126 * 60 - 3) * 1000); }")
    expect(mine).to_have_text("2時間6分", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True

    # The script words every duration as the server does (a redrawn list ticks at once).
    for minutes in (0, 59, 60, 61, 1439, 1440, 1497, 1500, 3000):
        mine.evaluate("""(el, minutes) => {
            el.dataset.since = String(Date.now() - minutes * 60000 - 20000);
            document.getElementById("live").appendChild(document.createComment("redrawn"));
        }""", minutes)
        expect(mine).to_have_text(minutes_text(minutes))

    page.goto(f"{live.url}/console/cases/{long_wait}")
    expect(page.locator(".sheet .ticking")).to_have_text("1日")
    context.close()
