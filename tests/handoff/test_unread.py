"""New words from a resident: counted per counsellor until they look, in the queue and its page
title, and marked in the talk; a tab in the background does not count as looking."""

from __future__ import annotations

import re

import pytest

from handoff.models import CaseMessage
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref")]


def write(live: LiveApp, r: Resident, case_id: int, words: str) -> None:
    """The resident writes to the counsellor (no answer from the bot: a person reads it)."""
    before = live.count(CaseMessage, CaseMessage.case_id == case_id)
    r.send(r.text(words))
    wait_for(lambda: live.count(CaseMessage, CaseMessage.case_id == case_id) > before)


def new_in_queue(page: str, case_id: int) -> int:
    row = page[page.index(f'href="/console/cases/{case_id}"'):].split("</tr>")[0]
    found = re.search(r'class="badge new-words"[^>]*>新着 (\d+)<', row)
    return int(found.group(1)) if found else 0


def marked(html: str) -> list[str]:
    return re.findall(r'<li class="line resident[^"]* new">.*?<span class="text">([^<]*)<',
                      html, flags=re.S)


def test_new_words_are_counted_until_the_holder_looks(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    sato, suzuki = logged_in(live, "sato"), logged_in(live, "suzuki")
    page = f"/console/cases/{case_id}"
    sato.post(f"{page}/claim", data={"csrf": csrf_of(sato, page)})
    wait_for(lambda: "佐藤" in texts(r.bot_messages()) and r.all_sent())
    sato.get(page)  # the holder has looked at the case

    write(live, r, case_id, "家賃が3か月たまっています")
    write(live, r, case_id, "電気も止まりそうです")
    queue = sato.get("/console/").text
    assert new_in_queue(queue, case_id) == 2
    assert "<title>(2) 受付一覧 | tsunagu</title>" in queue
    assert 'data-unread="2"' in sato.get("/console/fragments/queue").text

    # A colleague's look, and the holder's tab in the background, leave them new to the holder.
    suzuki.get(page)
    assert 'data-unread="2"' not in logged_in(live, "suzuki").get("/console/fragments/queue").text
    background = sato.get(f"{page}/fragments/transcript?seen=0").text
    assert marked(background) == ["家賃が3か月たまっています", "電気も止まりそうです"]
    assert new_in_queue(sato.get("/console/").text, case_id) == 2

    # On screen, the words are shown marked once; then they are no longer new.
    shown = sato.get(f"{page}/fragments/transcript").text
    assert marked(shown) == ["家賃が3か月たまっています", "電気も止まりそうです"]
    queue = sato.get("/console/").text
    assert new_in_queue(queue, case_id) == 0 and "<title>受付一覧 | tsunagu</title>" in queue
    assert marked(sato.get(f"{page}/fragments/transcript").text) == []

    write(live, r, case_id, "ありがとうございます")
    assert new_in_queue(sato.get("/console/").text, case_id) == 1
    assert marked(sato.get(page).text) == ["ありがとうございます"]
    assert new_in_queue(sato.get("/console/").text, case_id) == 0
