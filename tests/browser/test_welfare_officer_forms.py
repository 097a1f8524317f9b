"""A welfare officer's day in the content forms, without touching YAML: the welcome changed, a
town with its own team and hours, an emergency number in every language, two choices
reordered, a choice that leads to an existing question, a dead end refused, the draft tried,
published and rolled back. The published diff is the edited lines, every comment kept."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.db.models import ContentRelease
from handoff.models import Role
from tests.browser.console import sign_in
from tests.live import LiveApp, Staff

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
WELCOME = "メッセージをありがとうございます。ここでは、ひとりで抱えずに話せます。"

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def releases(live: LiveApp) -> list[dict[str, str]]:
    with live.session() as s:
        return [dict(r.files) for r in s.scalars(select(ContentRelease).order_by(
            ContentRelease.id))]


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    return ([d[1:] for d in lines if d.startswith("-") and not d.startswith("---")],
            [d[1:] for d in lines if d.startswith("+") and not d.startswith("+++")])


def comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "# " in line]


def saved(page: Page) -> None:
    expect(page.locator("#saved")).to_contain_text("下書きに保存しました")


def test_a_welfare_officers_day_without_yaml(fresh_live: LiveApp, browser: Browser) -> None:
    live = fresh_live
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live.url, "admin")
    page.get_by_role("link", name="コンテンツ管理").click()
    SCREENSHOTS.mkdir(exist_ok=True)

    # 1. The welcome: its first bubble, with LINE's limit counted while typing.
    page.click("#edit-flow")
    page.locator("#card-welcome a.open-card").click()
    bubble = page.locator("#say-0-text")
    edited = bubble.input_value().replace("連絡してくださって、ありがとうございます。", WELCOME)
    bubble.fill(edited)
    expect(page.locator("#say-0-count")).to_contain_text(f"{len(edited)} / 5000字")
    page.click("#save-card")
    saved(page)
    expect(bubble).to_have_value(edited)
    expect(page.locator(".untranslated").first).to_contain_text("日本語のまま届きます")

    # 2. A town with a new team of its own and its hours.
    page.get_by_role("navigation", name="コンテンツ管理").get_by_role(
        "link", name="市町村とチーム").click()
    page.fill("#town-name", "さくら町")
    page.fill("#town-kana", "さくらまち")
    page.select_option("#town-area", label="東部")
    page.select_option("#town-team", label="新しいチームをつくる（下に入力）")
    page.fill("#team-name", "さくら町 くらし相談")
    new_team = page.locator("fieldset.new-team")
    for day in ("月", "水", "金"):
        new_team.get_by_label(day, exact=True).check()
    new_team.get_by_label("開く").fill("09:00")
    new_team.get_by_label("閉まる").fill("16:00")
    # No agencies to tick: each referral asks the resident for its own recipient.
    expect(new_team.get_by_label("県 福祉事務所")).to_have_count(0)
    page.click("#add-town-button")
    saved(page)
    expect(page.locator("#town-sakuramachi input[name=name]")).to_have_value("さくら町")
    page.screenshot(path=str(SCREENSHOTS / "admin-forms-places.png"), full_page=False)

    # 3. An emergency number, with its words in every language a resident may choose.
    page.get_by_role("navigation", name="コンテンツ管理").get_by_role(
        "link", name="緊急の連絡先").click()
    add = page.locator("#add-number")
    add.get_by_label("新しい連絡先：名前").fill("さくら町 夜間福祉ダイヤル")
    add.get_by_label("新しい連絡先：電話番号").fill("0120-000-111")
    add.get_by_label("新しい連絡先：受付時間").fill("毎日17時〜翌9時")
    add.get_by_label("新しい連絡先：料金").select_option(label="無料")
    add.locator("details summary").click()
    add.get_by_label("食料がない").check()
    page.click("#add-number-button")
    # Without its translations it is refused, in Japanese, and the words stay in the form.
    expect(page.locator("#problems")).to_contain_text("訳を言語のファイルに足すまでは公開できません")
    expect(add.get_by_label("新しい連絡先：名前")).to_have_value("さくら町 夜間福祉ダイヤル")
    for row in add.locator("fieldset.translations tbody tr").all():
        language = row.locator("th").inner_text()
        row.get_by_label(f"{language}：名前").fill(f"Sakura night welfare line ({language})")
        row.get_by_label(f"{language}：受付時間").fill(f"every day 17-9 ({language})")
    add.locator("details summary").click()
    add.get_by_label("食料がない").check()
    page.click("#add-number-button")
    saved(page)
    expect(page.locator("input[name=tel][value='0120-000-111']")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "admin-forms-hotlines.png"), full_page=False)

    # 4. Two choices reordered and a choice that leads to an existing question (from the
    #    diagram: a question opens its card).
    page.get_by_role("navigation", name="コンテンツ管理").get_by_role(
        "link", name="流れの図").click()
    node = page.locator("#diagram svg g.card-link", has_text="info")
    expect(node.first).to_be_visible(timeout=15_000)
    node.first.click()
    expect(page.locator("h1")).to_contain_text("こんな支援があります")
    page.get_by_role("button", name="「相談をはじめる」を下へ").click()
    saved(page)
    labels = page.locator("input[name$='-label'][name^='choice-']:not([name^='choice-new'])")
    expect(labels.nth(0)).to_have_value("最初の画面に戻る")
    expect(labels.nth(1)).to_have_value("相談をはじめる")
    page.fill("#choice-new-label", "ことばを選ぶ")
    expect(page.locator("#choice-new-count")).to_contain_text("6 / 20字")
    page.select_option("#choice-new-next", value="language")
    page.click("#save-card")
    saved(page)
    expect(labels.nth(2)).to_have_value("ことばを選ぶ")
    page.screenshot(path=str(SCREENSHOTS / "admin-forms-card.png"), full_page=True)

    # 5. A dead end, shown and refused: every answer of 「ご相談は、どなたのことですか」 removed.
    page.goto(f"{live.url}/console/admin/flow/who")
    for box in page.locator("input[type=checkbox][name$='-remove'][name^='choice-']").all():
        box.check()
    page.click("#save-card")
    expect(page.locator("#problems")).to_contain_text("行き止まりです")
    expect(page.locator("#problems")).to_contain_text("この変更は保存していません")
    page.screenshot(path=str(SCREENSHOTS / "admin-forms-refused.png"), full_page=False)
    page.locator("#problems details summary").click()
    expect(page.locator("#problems details")).to_contain_text("no choices")

    # 6. Tried as a resident before publishing: the new welcome and the new choice.
    page.goto(f"{live.url}/console/admin/")
    page.click("#preview")
    expect(page.locator("#log")).to_contain_text(WELCOME)
    page.locator("#choices").get_by_role("button", name="使える支援を知りたい").click()
    expect(page.locator("#choices")).to_contain_text("ことばを選ぶ")

    # 7. Published with a reason.
    page.goto(f"{live.url}/console/admin/")
    page.fill("#reason", "あいさつと市町村の追加")
    page.click("#publish")
    expect(page.locator(".ok")).to_contain_text("#2 を公開しました")
    first, second = releases(live)
    assert set(n for n in first if first[n] != second[n]) == {
        "flows/intake.yaml", "places.yaml", "resources.yaml",
        *(f"languages/{code}.yaml" for code in live.runtime.content.languages)}
    removed, added = diff(first["flows/intake.yaml"], second["flows/intake.yaml"])
    # The welcome's line; 「最初の画面に戻る」 moved above 「相談をはじめる」; the new choice.
    back = "        - {label: 最初の画面に戻る, value: back, next: welcome}"
    assert removed == ["          連絡してくださって、ありがとうございます。", back]
    assert added == [f"          {WELCOME}", back,
                     "        - {label: ことばを選ぶ, value: kotobawo_bu, next: language}"]
    removed, added = diff(first["places.yaml"], second["places.yaml"])
    assert removed == [] and len(added) == 4  # the team's id, name and hours; the town
    assert yaml.safe_load(second["places.yaml"])["teams"][-1]["hours"] == {
        "days": ["mon", "wed", "fri"], "open": "09:00", "close": "16:00"}
    removed, added = diff(first["resources.yaml"], second["resources.yaml"])
    assert removed == [] and "    tel: \"0120-000-111\"" in added
    for name in first:
        assert comments(first[name]) == comments(second[name]), name

    # 8. Rolled back: the first release's content is served again as #3.
    row = page.locator("table.history tr", has_text="#1")
    row.locator("input[name=reason]").fill("確認のため元に戻す")
    row.get_by_role("button", name="この内容に戻す").click()
    page.locator("#confirm-dialog").get_by_role("button", name="この内容に戻す").click()
    expect(page.locator(".ok")).to_contain_text("#1 の内容を #3 として公開しました")
    assert releases(live)[2] == first
    context.close()
