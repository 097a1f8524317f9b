"""An officer corrects the corpus and compares the draft's figures with the published ones,
in Chromium at 1024 px: a message found by its words, its level changed, the evaluation
started and the page updating itself until the figures are there (a small corpus: see
tests/handoff/test_corpus_forms.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, expect

from handoff.models import Role
from tests.browser.console import sign_in
from tests.handoff.test_corpus_forms import live_settings, published_file  # noqa: F401
from tests.live import LiveApp, Staff

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def test_an_officer_relabels_a_message_and_compares_the_figures(fresh_live: LiveApp,
                                                                browser: Browser) -> None:
    live = fresh_live
    w01 = yaml.safe_load(published_file(live, "risk/corpus/w01.yaml"))["messages"]
    message = next(m for m in w01 if m["level"] == "concern" and "text" in m)
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "admin")
    page.goto(f"{live.url}/console/admin/")
    page.get_by_role("navigation", name="コンテンツ管理").get_by_role(
        "link", name="判定を学ぶ例文").click()

    page.get_by_label("ふくむ言葉").fill(message["text"][:8])
    page.get_by_role("button", name="さがす").click()
    row = page.locator(f"#m-{message['id']}")
    row.get_by_label(f"{message['id']} の度合い").select_option(label="高い")
    row.get_by_role("button", name=f"{message['id']} を保存").click()
    expect(page.locator("#saved")).to_contain_text("下書きに保存しました")
    expect(page.locator(f"#m-{message['id']}").get_by_label(
        f"{message['id']} の度合い")).to_have_value("high")

    page.get_by_role("button", name="下書きと公開中の成績をくらべる").click()
    # The page asks again by itself until both evaluations are done.
    expect(page.locator("#figures")).to_be_visible(timeout=300_000)
    expect(page.locator("#figures")).to_contain_text("見落とした数")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "corpus-evaluation.png"), full_page=True)
    context.close()
