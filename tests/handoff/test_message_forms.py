"""The words sent outside the intake in a form over HTTP: a text changed is its own line; a
safety text changed without its translations is refused in Japanese (residents who chose
another language would lose it), and saved with them, the translations appended to each
language file; an unknown placeholder is refused."""

from __future__ import annotations

from html import unescape

import pytest
import yaml

from handoff.models import Role
from tests.handoff.test_content_forms import changed_lines, drafted, published
from tests.live import LiveApp, Staff, csrf_of, logged_in

MESSAGES = "messages.yaml"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def test_a_text_is_changed_and_a_safety_text_needs_its_translations(
        fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    page = admin.get("/console/admin/messages/")
    assert page.status_code == 200 and "いま命が危ないとき（危険の種類ごと）：injury" in page.text
    csrf = csrf_of(admin, "/console/admin/")
    before = published(live, MESSAGES)
    old = yaml.safe_load(before)["wait_keep_writing"]
    new = "待っているあいだも、このトークに書いてください。相談員にそのまま届きます。"
    saved = admin.post("/console/admin/messages/wait?open=wait",
                       data={"csrf": csrf, "t:wait_keep_writing": new})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/admin/messages/?open=wait&saved=1#wait"
    after = drafted(live, MESSAGES)
    assert after is not None
    assert changed_lines(before, after) == ([f"wait_keep_writing: {old}"],
                                            [f"wait_keep_writing: {new}"])

    # Danger now, in new words: refused until every language has them.
    danger = "いま危ないときは、すぐに下のボタンから電話してください。あなたの命が大切です。"
    refused = admin.post("/console/admin/messages/risk?open=risk",
                         data={"csrf": csrf, "t:risk_imminent.0": danger})
    assert refused.status_code == 422
    assert "訳を言語のファイルに足すまでは公開できません" in refused.text
    assert danger in unescape(refused.text.split('id="risk"', 1)[1])  # the words kept
    assert drafted(live, MESSAGES) == after
    languages = list(live.runtime.content.languages)
    translated = {f"tr-{code}-risk_imminent.0": f"({code}) call now" for code in languages}
    saved = admin.post("/console/admin/messages/risk?open=risk",
                       data={"csrf": csrf, "t:risk_imminent.0": danger, **translated})
    assert saved.status_code == 303, unescape(saved.text)[:3000]
    assert yaml.safe_load(drafted(live, MESSAGES) or "")["risk_imminent"][0] == danger
    for code in languages:
        texts = yaml.safe_load(drafted(live, f"languages/{code}.yaml") or "")["texts"]
        assert texts[-1] == {"ja": danger, "text": f"({code}) call now"}

    refused = admin.post("/console/admin/messages/wait?open=wait",
                         data={"csrf": csrf, "t:wait_place": "あなたの前に{まえ}人です。"})
    assert refused.status_code == 422
    assert "「{まえ}」という差し込みはありません" in unescape(refused.text)
