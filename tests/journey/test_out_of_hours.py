"""Out of hours, through the webhook and the LINE emulator (every desk closed today for a 研修日):
the safety net's offers in their order, a concrete answer for tonight's need, the desk's own
night line first, and no pushes while the desk is closed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platform.lifecycle import queue_wait_updates
from tests.bot.test_intake import walk_to_consent
from tests.flows.helpers import tel_links
from tests.journey.waiting_helpers import (
    case_of,
    content_copy,
    on_duty,
    quiet_queue,
    said,
    settle,
    to_handoff,
    told_long_ago,
)
from tests.live import LiveApp, Resident, Staff


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {"content_dir": content_copy(tmp_path_factory.mktemp("closed"), closed_today=True),
            "wait_update_interval_seconds": 3600}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("kato", "加藤", team_id="midori")]


def test_no_bed_tonight_gets_the_net_in_order_with_tonights_answer(live: LiveApp) -> None:
    quiet_queue(live)
    r = Resident(live)
    walk_to_consent(r)  # みどり市, 「今夜寝る場所がない」
    answer = r.tap("同意する")
    assert "相談員におつなぎしました" in said(answer[:1])
    net = answer[1:]
    # 1. when a person will read it, and tonight's answer; 2. a call-back; 3. the numbers;
    # 4. self-help; 5. keep writing here.
    assert [m["type"] for m in net] == ["text", "template", "flex", "text", "text"]
    first = net[0]["text"]
    assert first.startswith("いまは相談員がいない時間です（きょうは研修日のため、お休みです）。")
    assert "以降に、順番にお返事します。" in first
    assert "【今夜寝る場所がないとき】" in first and "【今日の食事がないとき】" not in first
    assert net[1]["template"]["actions"][0]["data"] == "g=callback"
    numbers = tel_links(net)
    assert numbers[:4] == ["tel:0120000111", "tel:0120279338", "tel:119", "tel:110"]
    assert "みどり市 夜間休日福祉ダイヤル" in net[2]["altText"]
    assert "https://www.houterasu.or.jp/" in net[3]["text"]
    assert net[4]["text"] == "このトークには、いつでも書いてください。相談員が読みます。"
    case = case_of(live, r)
    assert case.wait_told is not None and case.wait_told["low"] is None  # no figure was made up
    assert case.wait_first is None  # nothing to measure against the real wait

    # Asked again at night: the same honest answer, the offers again.
    again = r.say("まだですか")
    assert "いまは相談員がいない時間です" in said(again)
    assert [m["type"] for m in again][-4:] == ["template", "flex", "text", "text"]


def test_nothing_is_pushed_while_the_desk_is_closed(live: LiveApp) -> None:
    quiet_queue(live)
    on_duty(live, "kato")  # someone logged in on a closed day changes nothing for residents
    r = Resident(live)
    to_handoff(r)
    told_long_ago(live, case_of(live, r).id, minutes=120)
    before = len(r.bot_messages())
    assert queue_wait_updates(live.runtime) == 0
    settle(r)
    assert len(r.bot_messages()) == before
