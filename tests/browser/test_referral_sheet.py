"""A counsellor connects a resident to the welfare office in Chromium: the phone is asked, naming
the recipient and the purpose; the resident agrees and gives the name the office needs; the
つなぐシート opens and prints to a PDF; passing it and its result are recorded
(docs/console-referral.png and docs/referral-sheet.png come from here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console import sign_in
from tests.live import LiveApp, Staff, resident_with_case

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


def test_a_referral_from_the_console_to_the_printed_sheet(fresh_live: LiveApp,
                                                          browser: Browser) -> None:
    live = fresh_live
    r, case_id = resident_with_case(live)
    counsellor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    desk = counsellor.new_page()
    sign_in(desk, live.url, "sato")
    desk.goto(f"{live.url}/console/cases/{case_id}")
    desk.click("#claim")

    desk.select_option("#referral-target", "seiho:0")
    desk.click("#referral-ask")
    expect(desk.locator("#referral-list")).to_contain_text("相談者の返事を待っています")
    expect(desk.locator("#referral-list a[id^=sheet-]")).to_have_count(0)  # not before a yes

    phone = counsellor.new_page()
    phone.goto(f"{live.url}/emulator/?user={r.user_id}")
    expect(phone.locator("#log")).to_contain_text("お渡しする先：県 福祉事務所", timeout=10_000)
    expect(phone.locator("#log")).to_contain_text("目的：生活保護の申請について相談する")
    phone.locator("#quick").get_by_text("渡してよい", exact=True).click()
    expect(phone.locator("#log")).to_contain_text("お名前（フルネーム）", timeout=10_000)
    phone.fill("#text", "山田 花子")
    phone.click("#send")
    expect(phone.locator("#log")).to_contain_text("電話番号を、このトークに", timeout=10_000)
    phone.locator("#quick").get_by_text("いまは送らない", exact=True).click()
    expect(phone.locator("#log")).to_contain_text("送らなくても大丈夫です", timeout=10_000)

    desk.reload()
    expect(desk.locator("#referral-list")).to_contain_text("同意あり")
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.locator("#referrals").screenshot(path=str(SCREENSHOTS / "console-referral.png"))

    with desk.expect_popup() as opened:
        desk.locator("#referral-list a[id^=sheet-]").click()
    sheet = opened.value
    expect(sheet.locator("#sheet-recipient")).to_have_text("県 福祉事務所")
    expect(sheet.locator("#sheet-basis")).to_contain_text("本人の同意：確認済み")
    expect(sheet.locator("#sheet-name")).to_have_text("山田 花子")
    expect(sheet.locator("#sheet-phone")).to_have_text("（聞いていません）")
    sheet.screenshot(path=str(SCREENSHOTS / "referral-sheet.png"), full_page=True)
    pdf = sheet.pdf(format="A4")  # what 「PDFに保存」 gives
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    expect(sheet.locator("#print")).to_be_visible()
    sheet.emulate_media(media="print")
    expect(sheet.locator("#print")).to_be_hidden()  # the button stays off the paper
    sheet.close()

    desk.locator("select[id^=sent-how-]").select_option("hand")
    desk.locator("button[id^=sent-]").click()
    desk.locator("button[id^=accepted-]").click()
    expect(desk.locator("#referral-list")).to_contain_text("受け入れられた")
    counsellor.close()
