"""Waiting for a person, through the webhook and the LINE emulator, on desks open day and night:
the place and the wait told at the handoff and updated by the job, asked for, the safety net
when the wait is long or nobody is on duty, a call-back reaching the case, giving up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from line_emulator import events as line_events
from sqlalchemy import update

from bot.db.models import utcnow
from bot.flows.routing import on_duty as desk_open
from bot.platform.lifecycle import queue_wait_updates
from bot.releases.load import load_content
from handoff.models import Case
from tests.flows.helpers import tel_links
from tests.journey.waiting_helpers import (
    case_of,
    case_words,
    claim,
    content_copy,
    conversation_answers,
    on_duty,
    quiet_queue,
    said,
    settle,
    to_handoff,
    told_long_ago,
)
from tests.live import LiveApp, Resident, Staff, logged_in, wait_for

pytestmark = pytest.mark.usefixtures("quiet")


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The job runs when a test calls it (a server would run it once at start, then hourly).
    return {"content_dir": content_copy(tmp_path_factory.mktemp("open"), open_always=True),
            "wait_update_interval_seconds": 3600}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("aoki", "青木", team_id="pref"), Staff("ueda", "上田", team_id="pref"),
            Staff("ono", "小野", team_id="pref")]


@pytest.fixture
def quiet(live: LiveApp) -> None:
    quiet_queue(live)


def test_the_handoff_tells_the_place_and_the_wait_and_the_job_updates_it(live: LiveApp) -> None:
    on_duty(live, "aoki")  # one counsellor, 20 minutes a case (content)
    first, second, me = Resident(live), Resident(live), Resident(live)
    to_handoff(first)
    to_handoff(second)
    answer = said(to_handoff(me))
    assert "相談員におつなぎしました" in answer and "相談員がいる時間：" in answer
    assert "あなたの前に、2人の方がお待ちです。" in answer
    assert "お返事まで、およそ45〜90分の見込みです。" in answer  # about an hour, told as a range
    case = case_of(live, me)
    assert case.wait_told is not None and case.wait_first == case.wait_told
    assert (case.wait_told["place"], case.wait_told["low"], case.wait_told["high"]) == (3, 45, 90)

    # The first resident is taken; half an hour later the job tells the others.
    claim(live, case_of(live, first).id, "aoki")
    told_long_ago(live, case.id)
    told_long_ago(live, case_of(live, second).id)
    before = len(me.bot_messages())
    assert queue_wait_updates(live.runtime) == 2
    update_ = wait_for(lambda: me.bot_messages()[before:])
    assert update_[0]["text"].splitlines()[:3] == [
        "順番のお知らせです。", "あなたの前に、1人の方がお待ちです。",
        "お返事まで、およそ30〜60分の見込みです。目安なので、急ぎのご相談が先になるなどして、"
        "前後することがあります。"]
    assert "次に、あなたのご相談をお読みします。" in said(
        wait_for(lambda: second.bot_messages()[-1:]))
    after = case_of(live, me)
    assert after.wait_told is not None and after.wait_told["place"] == 2
    assert after.wait_first is not None and after.wait_first["place"] == 3  # kept to measure

    # Just told: no second push, however often the job runs (a queue that then moves as told
    # is no news either: tests/handoff/test_estimate.py).
    assert queue_wait_updates(live.runtime) == 0
    assert queue_wait_updates(live.runtime) == 0
    settle(me)
    assert len(me.bot_messages()) == before + 1


def test_asking_tells_the_wait_and_a_longer_question_is_forwarded_too(live: LiveApp) -> None:
    on_duty(live, "aoki")
    ahead, me = Resident(live), Resident(live)
    to_handoff(ahead)
    to_handoff(me)
    answer = said(me.say("まだですか"))
    assert "いまの様子をお知らせします" in answer
    assert "あなたの前に、1人の方がお待ちです。" in answer and "分の見込みです" in answer
    assert "受け取りました" not in answer  # answered, not only acknowledged

    words = "すみません、あとどのくらいかかりますか"
    answer = said(me.say(words))
    assert "あなたの前に、1人の方がお待ちです。" in answer
    assert case_words(live, case_of(live, me).id) == [words]  # the counsellor reads it too


def test_a_long_wait_offers_the_safety_net_in_order(live: LiveApp) -> None:
    on_duty(live, "aoki")
    for _ in range(8):
        to_handoff(Resident(live))
    me = Resident(live)
    answer = to_handoff(me)
    net = answer[1:]
    assert [m["type"] for m in net] == ["text", "template", "flex", "text", "text"]
    assert net[0]["text"].splitlines()[:2] == [
        "あなたの前に、8人の方がお待ちです。",
        "お待たせしていて、ごめんなさい。いまは混み合っていて、お返事まで、およそ135〜250分かかりそうです。"]
    assert net[1]["template"]["actions"][0]["label"] == "折り返しの電話を頼む"
    # The desk's after-hours contact first, then the general hotlines (each number once).
    numbers = tel_links(net)
    assert numbers[:3] == ["tel:0120279338", "tel:119", "tel:110"]
    assert numbers.count("tel:0120279338") == 1
    assert "まもろうよ こころ" in net[3]["text"]
    assert net[4]["text"] == "このトークには、いつでも書いてください。相談員が読みます。"
    assert "quickReply" in net[4]  # the buttons under the last message, where LINE shows them


def test_a_call_back_with_the_number_reaches_the_case_and_only_the_case(live: LiveApp) -> None:
    me = Resident(live)
    answer = said(to_handoff(me))  # nobody on duty: the net at once
    assert "相談員が戻りしだい、順番にお返事します" in answer
    assert "時間帯を選んでください" in said(me.tap("折り返しの電話を頼む"))
    assert "このご相談の記録にだけ残します" in said(me.tap("平日の夕方"))
    me.tap("番号を伝える")
    assert "相談員に伝えました" in said(me.say("０９０ー１２３４ー５６７８"))

    case = case_of(live, me)
    assert case.callback is not None
    assert {k: case.callback[k] for k in ("window", "phone", "phone_consent")} == {
        "window": "平日の夕方", "phone": "090-1234-5678", "phone_consent": True}
    kept = json.dumps([conversation_answers(live, me), case.answers], ensure_ascii=False)
    assert "1234" not in kept and "callback" not in kept  # never among the answers

    client = logged_in(live, "ueda")
    page = client.get(f"/console/cases/{case.id}").text
    assert 'id="callback-phone">090-1234-5678<' in page and "平日の夕方" in page
    assert "最後：" in page  # and what the resident was told

    # Asked again, the net says the call-back is known and does not offer it twice.
    answer = me.say("まだですか")
    assert "折り返しのお電話のご希望は、相談員に伝わっています。" in said(answer)
    assert all(m["type"] != "template" for m in answer)


def test_a_call_back_without_consent_to_the_number_keeps_no_number(live: LiveApp) -> None:
    me = Resident(live)
    to_handoff(me)
    me.tap("折り返しの電話を頼む")
    me.tap("いつでもよい")
    assert "電話番号はお預かりしません" in said(me.tap("番号は伝えない"))
    case = case_of(live, me)
    assert case.callback is not None
    assert (case.callback["window"], case.callback["phone"], case.callback["phone_consent"]) == (
        "いつでもよい", None, False)


def test_giving_up_gets_a_goodbye_with_the_numbers_and_the_case_notes_it(live: LiveApp) -> None:
    on_duty(live, "aoki")
    me = Resident(live)
    to_handoff(me)
    answer = me.say("待つのをやめます")
    assert "待ってくださって" in said(answer) and "このまま残しておきます" in said(answer)
    assert tel_links(answer)[:2] == ["tel:119", "tel:110"]
    buttons = [i["action"]["label"] for i in answer[-1]["quickReply"]["items"]]
    assert "続きから" in buttons and "人と話したい" in buttons
    case = case_of(live, me)
    assert case.gave_up_at is not None and case.status == "open"
    assert case_words(live, case.id) == ["待つのをやめます"]

    # The wait would now be told differently (two more counsellors), but they stopped waiting.
    on_duty(live, "ueda", "ono")
    told_long_ago(live, case.id)
    before = len(me.bot_messages())
    queue_wait_updates(live.runtime)
    settle(me)
    assert len(me.bot_messages()) == before

    # Coming back tells the wait again; the case page says they had stopped.
    assert "分の見込みです" in said(me.tap("続きから"))
    page = logged_in(live, "aoki").get(f"/console/cases/{case.id}").text
    assert "に待つのをやめました" in page and "また待ちはじめました" in page


def test_giving_up_in_words_that_may_mean_danger_gets_the_danger_reply_first(
        live: LiveApp) -> None:
    """「もういいです」 is also how people in crisis write: the risk analysis reads it as possible
    danger, and danger is answered first, whatever the state (the numbers, a person, the case
    raised to the top of the queue with the words)."""
    me = Resident(live)
    to_handoff(me)
    answer = me.say("もういいです")
    assert tel_links(answer)[:1] == ["tel:119"]
    assert "相談員にも、いちばん急ぐ相談として知らせました" in said(answer)
    case = case_of(live, me)
    assert case.priority == "imminent" and "もういいです" in case_words(live, case.id)


def test_no_pushes_where_the_case_forbids_them_or_the_resident_left(live: LiveApp) -> None:
    on_duty(live, "aoki")
    ahead, shared_phone, left = Resident(live), Resident(live), Resident(live)
    to_handoff(ahead)
    to_handoff(shared_phone)
    to_handoff(left)
    with live.session() as s, s.begin():
        s.execute(update(Case).where(Case.id == case_of(live, shared_phone).id)
                  .values(no_followups=True))
    left.send(line_events.unfollow_event(left.user_id))  # blocked the account mid-wait
    wait_for(lambda: case_of(live, left).gave_up_at is not None)  # leaving mid-wait is noted
    claim(live, case_of(live, ahead).id, "aoki")
    for r in (shared_phone, left):
        told_long_ago(live, case_of(live, r).id)
    before = {r.user_id: len(r.bot_messages()) for r in (shared_phone, left)}
    assert queue_wait_updates(live.runtime) == 0
    for r in (shared_phone, left):
        assert len(r.bot_messages()) == before[r.user_id]


def test_the_content_copy_is_open_day_and_night(tmp_path: Path) -> None:
    """The module's premise: its desks are open whenever the tests run."""
    content = load_content(content_copy(tmp_path, open_always=True))
    assert all(desk_open(team, utcnow()) for team in content.places.teams)
