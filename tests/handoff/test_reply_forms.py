"""The counsellors' canned replies in a form over HTTP: a reply's words changed in one
language change that line alone; an unknown placeholder or a missing standard Japanese is
refused in Japanese with the words kept; a reply added for one team, and removed."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
import yaml

from handoff.models import Role
from tests.handoff.test_content_forms import changed_lines, drafted, published
from tests.live import LiveApp, Staff, csrf_of, logged_in

REPLIES = "replies.yaml"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def reply_form(client: httpx.Client, index: int, **changes: str) -> dict[str, str | list[str]]:
    """A reply's form as its card fills it, with `changes` over it."""
    page = client.get("/console/admin/replies/")
    assert page.status_code == 200
    card = page.text.split(f'id="reply-{index}"', 1)[1].split("</form>", 1)[0]
    form: dict[str, str | list[str]] = {"csrf": csrf_of(client, "/console/admin/")}
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', card, re.S):
        form[name] = unescape(value)
    form["title"] = unescape(re.search(r'name="title"[^>]*value="([^"]*)"', card).group(1))  # type: ignore[union-attr]
    form["teams"] = re.findall(r'name="teams" value="([^"]+)" checked', card)
    form.update(changes)
    return form


def test_a_reply_edited_in_one_language_changes_that_line(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    form = reply_form(admin, 0)
    assert form["title"] == "あいさつ・自己紹介" and str(form["text-en"]).startswith("Hello")
    before = published(live, REPLIES)
    old = yaml.safe_load(before)["replies"][0]["texts"]["ja"]
    new = old.replace("少しずつ教えてください。", "話せるところから、少しずつ教えてください。")
    saved = admin.post("/console/admin/replies/0?open=0", data={**form, "text-ja": new})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/admin/replies/?open=0&saved=1#reply-0"
    after = drafted(live, REPLIES)
    assert after is not None
    assert changed_lines(before, after) == ([f"    ja: {old}"], [f"    ja: {new}"])

    # A placeholder that does not exist, or no standard Japanese: refused, words kept.
    refused = admin.post("/console/admin/replies/0?open=0",
                         data={**form, "text-ja": "{名前}です。"})
    assert refused.status_code == 422
    assert "「{名前}」という差し込みはありません" in unescape(refused.text)
    assert "{名前}です。" in unescape(refused.text.split('id="reply-0"', 1)[1])
    refused = admin.post("/console/admin/replies/0?open=0", data={**form, "text-ja": ""})
    assert refused.status_code == 422 and "日本語（標準）の文は、必ず書いてください" in refused.text
    assert drafted(live, REPLIES) == after


def test_a_reply_is_added_for_one_team_and_removed(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    added = admin.post("/console/admin/replies", data={
        "csrf": csrf, "title": "フードバンクの案内", "teams": "midori",
        "text-ja": "{team}では、フードバンクの食料をお渡しできます。",
        "text-ja_easy": "{team}で、たべものを もらえます。"})
    assert added.status_code == 303
    after = drafted(live, REPLIES)
    assert after is not None
    replies = yaml.safe_load(after)["replies"]
    assert replies[-1] == {"id": "team_de_tabemonowo_moraemasu", "title": "フードバンクの案内",
                           "texts": {"ja": "{team}では、フードバンクの食料をお渡しできます。",
                                     "ja_easy": "{team}で、たべものを もらえます。"},
                           "teams": ["midori"]}
    assert "フードバンクの案内" in admin.get("/console/admin/replies/").text
    index = len(replies) - 1
    removed = admin.post(f"/console/admin/replies/{index}?open={index}",
                         data={**reply_form(admin, index), "remove": "1"})
    assert removed.status_code == 303
    assert drafted(live, REPLIES) == published(live, REPLIES)
