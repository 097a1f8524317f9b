"""The risk corpus in forms over HTTP: messages found by writer, level and words; a text
corrected and a level adjudicated again, each as its own line of its writer's file; a message
an administrator writes goes to the review file; and the draft's leave-one-writer-out figures
beside the published release's.

The server reads a copy of the content with a small corpus (three writers, sixty messages
each): the figures train a model per writer, and the forms do not depend on the corpus size."""

from __future__ import annotations

import re
import shutil
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.db.models import ContentDraft
from bot.nlp.crossval import Figures
from bot.nlp.levels import Level
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.console.corpus_forms import compare_figures
from handoff.models import AuditEntry, Role
from tests.handoff.test_content_forms import changed_lines
from tests.live import LiveApp, Staff, csrf_of, logged_in, wait_for

WRITERS = ("w01", "w02", "w03")
PER_WRITER = 60


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    for path in (content / "risk" / "corpus").glob("w*.yaml"):
        if path.stem not in WRITERS:
            path.unlink()
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["messages"] = data["messages"][:PER_WRITER]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return {"content_dir": content}


def draft_file(live: LiveApp, name: str) -> str | None:
    with live.session() as s:
        draft = s.scalars(select(ContentDraft)).first()
        return None if draft is None else str(draft.files[name])


def published_file(live: LiveApp, name: str) -> str:
    with live.session() as s:
        from bot.releases import store
        release = store.current_release(s)
        assert release is not None
        return str(release.files[name])


def rows_shown(page: httpx.Response) -> list[str]:
    return re.findall(r'<tr id="m-([a-z0-9]+-\d+)">', page.text)


def test_messages_are_found_corrected_and_added(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    listing = admin.get("/console/admin/corpus/")
    assert listing.status_code == 200 and f"{3 * PER_WRITER} 文" in listing.text
    found = admin.get("/console/admin/corpus/", params={"writer": "w02", "level": "imminent"})
    ids = rows_shown(found)
    assert ids and all(i.startswith("w02-") for i in ids)
    w02 = yaml.safe_load(published_file(live, "risk/corpus/w02.yaml"))["messages"]
    assert {m["id"] for m in w02 if m["level"] == "imminent"} == set(ids)

    # Adjudicated again: its level line, nothing else; the list it was on comes back.
    harmless = next(m for m in w02 if m["level"] == "none" and "text" in m)
    csrf = csrf_of(admin, "/console/admin/")
    saved = admin.post(f"/console/admin/corpus/messages/{harmless['id']}",
                       params={"writer": "w02", "q": "", "offset": "0"},
                       data={"csrf": csrf, "words": harmless["text"], "level": "imminent"})
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        f"/console/admin/corpus/?saved=1&writer=w02&offset=0#m-{harmless['id']}")
    # Words searched for come back as they were typed.
    searched = admin.post(f"/console/admin/corpus/messages/{harmless['id']}",
                          params={"q": "家賃 & 食費"},
                          data={"csrf": csrf, "words": harmless["text"], "level": "imminent"})
    assert searched.headers["location"].startswith(
        "/console/admin/corpus/?saved=1&q=%E5%AE%B6%E8%B3%83+%26+")
    before = published_file(live, "risk/corpus/w02.yaml")
    after = draft_file(live, "risk/corpus/w02.yaml")
    assert after is not None
    assert changed_lines(before, after) == (["  level: none"], ["  level: imminent"])

    # Its words corrected: the text line alone.
    words = harmless["text"] + "。"
    assert admin.post(f"/console/admin/corpus/messages/{harmless['id']}",
                      data={"csrf": csrf, "words": words,
                            "level": "imminent"}).status_code == 303
    after = draft_file(live, "risk/corpus/w02.yaml")
    assert after is not None
    removed, added = changed_lines(before, after)
    assert removed == [f"  text: {harmless['text']}", "  level: none"]
    assert added == [f"  text: {words}", "  level: imminent"]

    # An administrator's own paraphrase goes to the review file, never a writer's.
    refused = admin.post("/console/admin/corpus/messages",
                         data={"csrf": csrf, "words": " ", "level": "high"})
    assert refused.status_code == 422 and "例文を入れてください" in refused.text
    added_one = admin.post("/console/admin/corpus/messages", data={
        "csrf": csrf, "words": "家賃が払えなくて今月で部屋を出ないといけない", "level": "high"})
    assert added_one.status_code == 303
    review = draft_file(live, "risk/corpus/review.yaml")
    assert review is not None
    assert yaml.safe_load(review)["messages"] == [{
        "id": "review-0001", "text": "家賃が払えなくて今月で部屋を出ないといけない",
        "level": "high", "labels": ["high"], "lang": "ja",
        "kind": "written in the corpus form"}]


def test_the_drafts_figures_stand_beside_the_published_ones(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    w03 = yaml.safe_load(published_file(live, "risk/corpus/w03.yaml"))["messages"]
    harmless = next(m for m in w03 if m["level"] == "none" and "text" in m)
    admin.post(f"/console/admin/corpus/messages/{harmless['id']}",
               data={"csrf": csrf, "words": harmless["text"], "level": "imminent"})
    started = admin.post("/console/admin/corpus/evaluate", data={"csrf": csrf})
    assert started.status_code == 303
    assert started.headers["location"] == "/console/admin/corpus/evaluation"

    def figures() -> str | None:
        page = admin.get("/console/admin/corpus/evaluation")
        assert "計算できませんでした" not in page.text
        if 'id="figures"' not in page.text:
            assert page.headers.get("refresh") == "3"  # the page asks again by itself
            return None
        return page.text

    # Training a model per writer, twice: a bound against hanging, not a speed claim.
    page = wait_for(figures, timeout=600, interval=1)
    imminent = re.search(r"見落とした数</th><td>(\d+) / (\d+)</td><td>(\d+) / (\d+)", page)
    assert imminent is not None
    # The draft has one more imminent message than the published release: the one relabelled.
    assert int(imminent.group(4)) == int(imminent.group(2)) + 1
    with live.session() as s:
        assert s.scalars(select(AuditEntry.action).where(
            AuditEntry.action == "content_evaluate")).all() == ["content_evaluate"]


def test_a_figure_that_gets_worse_is_marked() -> None:
    published, draft = Figures(), Figures()
    for figures, got in ((published, Level.IMMINENT), (draft, Level.CONCERN)):
        figures.add(Level.IMMINENT, got)
        figures.add(Level.NONE, Level.NONE)
    rows = {r.label: r for r in compare_figures(published, draft)}
    missed = rows["差し迫った危険の文を「高い」より下に見落とした数"]
    assert (missed.published, missed.draft, missed.worse) == ("0 / 1", "1 / 1", True)
    assert rows["危険のない文を「高い」以上にしてしまった割合"].worse is False
