"""A counsellor records a support plan in Chromium, the resident's phone hears that support
begins, the caseload lists the case; monitoring later ends it (docs/console-support.png and
docs/console-caseload.png come from here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from handoff.models import Case, SupportPlan
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_a_plan_then_monitoring_from_the_console(fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    r, case_id = resident_with_case(live)
    counsellor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    desk = counsellor.new_page()
    sign_in(desk, live.url, "sato")
    desk.goto(f"{live.url}/console/cases/{case_id}")
    desk.click("#claim")
    expect(desk.locator("#plan-form")).to_be_visible()

    desk.fill("#plan-goals", "家賃を払い続けられるようにしたい。春までに仕事を見つけたい。")
    desk.fill("#plan-agreed", "2026-12-04")
    desk.select_option("#plan-months", "3")
    desk.check("#plan-ask")
    desk.click("#plan-start")
    expect(desk.locator("#plan")).to_contain_text("支援中")
    expect(desk.locator("#next-monitoring")).to_contain_text("2027年03月04日")
    expect(desk.locator("#monitoring-form")).to_be_hidden()  # folded: the talk comes first
    desk.click("#meeting summary")
    desk.locator("#meeting-form input[value=employment]").check()
    desk.locator("#meeting-form input[value=counsellor]").check()
    desk.fill("#meeting-decision", "ハローワークと一緒に求人を探す。家計の見直しは来月。")
    desk.click("#meeting-record")
    expect(desk.locator("#support-history")).to_contain_text("就労支援員")

    phone = counsellor.new_page()
    phone.goto(f"{live.url}/emulator/?user={r.user_id}")
    expect(phone.locator("#log")).to_contain_text("これからの支援の計画を一緒に決めました",
                                                  timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(SCREENSHOTS / "console-support.png"), full_page=True)

    desk.click("nav a[href='/console/caseload']")
    expect(desk.locator("#mine")).to_contain_text("支援中")
    desk.screenshot(path=str(SCREENSHOTS / "console-caseload.png"), full_page=True)

    desk.goto(f"{live.url}/console/cases/{case_id}")
    desk.click("#monitoring summary")
    desk.fill("#monitoring-summary", "仕事が決まり、家賃も払えている。")
    desk.select_option("#monitoring-decision", "close")
    desk.click("#monitoring-record")
    expect(desk.locator("#closed")).to_contain_text("支援を終えた（終結）")
    expect(phone.locator("#log")).to_contain_text("これまでの支援を、いったん区切りにします",
                                                  timeout=10_000)
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "closed" and case.outcome == "supported"
        assert s.scalars(select(SupportPlan.end_reason).where(
            SupportPlan.case_id == case_id)).one() == "closed"
    counsellor.close()
