"""An officer teaches the risk lexicon a new way of saying a danger, in forms at 1024 px:
the test box first (nothing found), a rule refused because its own example is not found (with
how the analyser reads the example), the rule mended and saved, the test box finding it in the
draft, and, once published, a resident's message read by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from bot.db.models import RiskAssessmentRecord
from handoff.models import Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Resident, Staff, conversation_of, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
WORDS = "米びつが空です"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def test_an_officer_teaches_a_new_way_of_saying_no_food(fresh_live: LiveApp,
                                                        browser: Browser) -> None:
    live = fresh_live
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "admin")
    page.goto(f"{live.url}/console/admin/")
    page.get_by_role("navigation", name="コンテンツ管理").get_by_role(
        "link", name="危険の見つけ方").click()
    page.get_by_role("link", name="食料がない").click()

    # The test box: today nothing finds these words.
    page.get_by_label("文を入れると").fill(WORDS)
    page.get_by_role("button", name="判定する").click()
    expect(page.locator("#result")).to_contain_text("判定：なし")

    # A rule whose words are written as the officer writes them; the example is refused.
    add = page.locator("#add-rule")
    add.get_by_label("決まりの呼び名").fill("こめびつ")
    add.get_by_label("危険の度合い").select_option(label="高い")
    add.get_by_label("見つける言葉の並び").fill("米びつ\nからっぽ")
    add.get_by_label("言葉と言葉のあいだ").fill("2")
    add.get_by_label("見つけたい言い方の例").fill(WORDS)
    add.get_by_label("見つけてはいけない言い方の例").fill("米びつを買った")
    add.get_by_role("button", name="決まりを足す").click()
    expect(page.locator("#problems")).to_contain_text(f"例文「{WORDS}」は、この決まりで見つけたい")
    # How the analyser reads the example, to mend the words by; the words typed are kept.
    expect(page.locator("#add-rule .readings")).to_contain_text(f"「{WORDS}」→ 米櫃・が・空・です")
    expect(add.get_by_label("見つける言葉の並び")).to_have_value("米びつ\nからっぽ")
    page.screenshot(path=str(SCREENSHOTS / "risk-rule-refused.png"), full_page=True)

    add.get_by_label("見つける言葉の並び").fill("米びつ\n空、からっぽ")
    add.get_by_role("button", name="決まりを足す").click()
    expect(page.locator("#saved")).to_contain_text("下書きに保存しました")

    # The test box reads with the draft now.
    page.get_by_label("文を入れると").fill(WORDS)
    page.get_by_role("button", name="判定する").click()
    expect(page.locator("#result")).to_contain_text("判定：高い")
    expect(page.locator("#result")).to_contain_text("no_food.komebitsu")
    page.screenshot(path=str(SCREENSHOTS / "risk-rule-tried.png"), full_page=True)

    page.goto(f"{live.url}/console/admin/")
    page.fill("#reason", "米びつの言い方を足す")
    page.click("#publish")
    expect(page.locator(".ok")).to_contain_text("を公開しました")

    # A resident's words are read by the new rule.
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.say(WORDS)
    conversation = conversation_of(live, r)

    def read() -> list[str]:
        with live.session() as s:
            return [h["rule"] for record in s.scalars(select(RiskAssessmentRecord).where(
                RiskAssessmentRecord.conversation_id == conversation.id))
                for h in record.hits]

    assert "no_food.komebitsu" in wait_for(read)
    context.close()
